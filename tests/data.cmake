# Dataset loader (ml/nn_data.c).
cs_test(NAME test_data_eurosat SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_data_eurosat.c LABELS data LIBS cs_ml)
cs_test(NAME test_data_load SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_data_load.c LABELS unit LIBS cs_ml)
cs_test(NAME test_data_root SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_data_root.c LABELS unit LIBS cs_ml)
cs_test(NAME test_data_split SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_data_split.c LABELS unit LIBS cs_ml)
cs_test(NAME test_data_flip SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_data_flip.c LABELS unit LIBS cs_ml)
