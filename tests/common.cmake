cs_test(NAME test_common SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_common.c LABELS unit LIBS cs_common)
# The typed checks of tests/t.h.
cs_test(NAME test_t SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_t.c LABELS unit LIBS m)
# Every command: an input it cannot read (missing, a folder, a FIFO) is exit 2, naming the path.
cs_test(NAME test_cli_inputs SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_cli_inputs.c LABELS e2e)
# Every command that writes files refuses an output it cannot write before its expensive work
# (exit 2, naming the path); eval --list checks the list before decoding the dataset.
cs_test(NAME test_cli_outputs SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_cli_outputs.c LABELS e2e)
# The progress of long contact plans (cli/cli.c's printer, and its use by contacts and run).
cs_test(NAME test_cli_progress SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_cli_progress.c
  ${PROJECT_SOURCE_DIR}/cli/cli.c LABELS unit ARGS unit)
cs_test_register(NAME cli_progress_commands EXE test_cli_progress LABELS e2e ARGS e2e)
add_dependencies(test_cli_progress constsim)
