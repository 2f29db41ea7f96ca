# orbits/: time, frames, propagators, Walker shells, contact windows.
cs_test(NAME test_orb_time SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_orb_time.c LABELS unit LIBS cs_orbits)
cs_test(NAME test_orb_frames SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_orb_frames.c LABELS unit LIBS cs_orbits)
cs_test(NAME test_orb_prop SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_orb_prop.c LABELS unit LIBS cs_orbits)
cs_test(NAME test_orb_contacts SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_orb_contacts.c LABELS unit LIBS cs_orbits)
