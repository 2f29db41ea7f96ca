# Event engine, FL over contact windows, reports, constsim run/compare (sim/sim_engine.*, sim/fl*,
# sim/rep.*, cli/cmd_run.c, cli/cmd_compare.c).
cs_test(NAME test_sim_engine SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_sim_engine.c LABELS unit LIBS cs_sim)
cs_test(NAME test_sim_links SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_sim_links.c LABELS unit LIBS cs_sim)
cs_test(NAME test_sim_fedavg SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_sim_fedavg.c LABELS unit LIBS cs_sim)
