# Scenario loader, --set overrides, contact plan and `constsim contacts` (tests/test_scn.c).
# Each broken scenario in tests/data/bad/ is its own ctest: its first line holds the exact
# message and location it must produce, from the library and from `constsim contacts`.
cs_test(NAME test_scn SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_scn.c LABELS unit ARGS unit)
cs_test_register(NAME scn_contacts EXE test_scn LABELS unit e2e ARGS contacts)
file(GLOB CS_SCN_BAD CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/data/bad/*.yaml)
foreach(f ${CS_SCN_BAD})
  get_filename_component(n ${f} NAME_WE)
  file(RELATIVE_PATH rel ${PROJECT_SOURCE_DIR} ${f})
  cs_test_register(NAME scn_bad_${n} EXE test_scn LABELS unit ARGS bad ${rel})
endforeach()
# The tests run the command: build it with the test.
add_dependencies(test_scn constsim)
