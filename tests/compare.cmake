# constsim compare (cli/cmd_compare.c, sim/rep_compare.c) on the hand-written reports and sweep
# folder of tests/data/compare/: best-value marks, CSV values read back, --sort, DIR, errors.
cs_test(NAME test_compare SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_compare.c LABELS unit LIBS cs_sim)
