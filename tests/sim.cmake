# Event engine, FL over contact windows, reports, constsim run/compare (sim/sim_engine.*, sim/fl*,
# sim/rep.*, cli/cmd_run.c, cli/cmd_compare.c).
cs_test(NAME test_sim_engine SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_sim_engine.c LABELS unit LIBS cs_sim)
cs_test(NAME test_sim_links SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_sim_links.c LABELS unit LIBS cs_sim)
cs_test(NAME test_sim_fedavg SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_sim_fedavg.c LABELS unit LIBS cs_sim)
# constsim run twice on a tiny real scenario (needs ../shared/eurosat): identical reports,
# bytes and costs recomputed exactly from payload sizes, transfer counts and station prices.
cs_test(NAME test_sim_e2e SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_sim_e2e.c LABELS e2e data LIBS cs_sim)
# Whole FL runs on a hand-made plan and a synthetic dataset, times and bytes worked out by hand.
cs_test(NAME test_sim_fl SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_sim_fl.c LABELS unit LIBS cs_sim)
# constsim run killed (SIGKILL, SIGINT) and resumed from its checkpoint: the report and models of
# the uninterrupted run, also resumed on other thread counts; checkpoints of another scenario,
# seed or build refused.
cs_test(NAME test_resume SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_resume.c LABELS e2e data LIBS cs_sim)
# constsim run with --threads 1, 2 and 3: the same report and model files (clients trained in
# parallel, sim/fl_train.c).
cs_test(NAME test_threads SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_threads.c LABELS e2e data LIBS cs_sim)
