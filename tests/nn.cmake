# The CNN engine (ml/nn*.c): gradient checks, unit tests, PyTorch golden comparison.
cs_test(NAME test_nn_gradcheck SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_nn_gradcheck.c
        LABELS gradcheck LIBS cs_ml)
cs_test(NAME test_nn_golden SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_nn_golden.c
        LABELS golden LIBS cs_ml)
set_tests_properties(test_nn_golden PROPERTIES SKIP_RETURN_CODE 77)
cs_test(NAME test_nn_unit SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_nn_unit.c
        LABELS unit LIBS cs_ml)
# End to end on the real dataset: a short training run must learn (skips without EuroSAT).
cs_test(NAME test_nn_train_eurosat SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_nn_train_eurosat.c
        LABELS data slow LIBS cs_ml)
set_tests_properties(test_nn_train_eurosat PROPERTIES SKIP_RETURN_CODE 77)
# The direct AVX-512 convolutions against the double oracle, and the model on both conv paths
# (skips without AVX-512F).
cs_test(NAME test_nn_conv512 SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_nn_conv512.c
        LABELS unit LIBS cs_ml)
set_tests_properties(test_nn_conv512 PROPERTIES SKIP_RETURN_CODE 77)
# The inference path against the training model's evaluation-mode forward (bit for bit, threads
# 1..3); the second run repeats it on real EuroSAT images (skips without the dataset).
cs_test(NAME test_nn_infer SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_nn_infer.c
        LABELS unit LIBS cs_ml)
cs_test_register(NAME test_nn_infer_eurosat EXE test_nn_infer LABELS data ARGS eurosat)
set_tests_properties(test_nn_infer_eurosat PROPERTIES SKIP_RETURN_CODE 77)
