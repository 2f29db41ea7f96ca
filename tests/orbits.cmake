# orbits/: time, frames, propagators, Walker shells, contact windows.
cs_test(NAME test_orb_time SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_orb_time.c LABELS unit LIBS cs_orbits)
cs_test(NAME test_orb_frames SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_orb_frames.c LABELS unit LIBS cs_orbits)
cs_test(NAME test_orb_prop SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_orb_prop.c LABELS unit LIBS cs_orbits)
cs_test(NAME test_orb_contacts SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_orb_contacts.c LABELS unit LIBS cs_orbits)
# End to end: `constsim contacts scenarios/eo-tle.yaml` against skyfield (rises/sets within 1 s,
# same passes per pair; also within 50 ms once skyfield's UT1 is set to UTC as constsim assumes).
cs_test_register(NAME contacts_skyfield EXE /usr/bin/python3 LABELS golden
  ARGS ${PROJECT_SOURCE_DIR}/bench/skyfield_contacts.py scenarios/eo-tle.yaml)
# The subsolar point (orbits/orb_sun.c) against Meeus's higher-accuracy solar coordinates.
cs_test(NAME test_orb_sun SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_orb_sun.c LABELS unit LIBS cs_orbits)
