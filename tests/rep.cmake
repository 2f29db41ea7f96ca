# The report's machine facts and trace count (sim/rep.c, common/cs_host.c), constsim --version,
# and (with the dataset) a real run checked by tests/check_report.py --threads 1.
cs_test(NAME test_rep_machine SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_rep_machine.c LABELS unit LIBS cs_sim)
cs_test_register(NAME test_rep_machine_run EXE test_rep_machine ARGS run LABELS e2e data)
set_tests_properties(test_rep_machine_run PROPERTIES SKIP_RETURN_CODE 77)
