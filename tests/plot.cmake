# constsim plot (cli/cmd_plot.c, cli/plot*.c) on the fixtures of tests/data/plot/: images, the
# script's data rows, errors, a missing or failing gnuplot. Skips (77) after the checks that need
# no gnuplot when gnuplot is not installed.
cs_test(NAME test_plot SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_plot.c LABELS unit LIBS cs_sim)
set_tests_properties(test_plot PROPERTIES SKIP_RETURN_CODE 77)
