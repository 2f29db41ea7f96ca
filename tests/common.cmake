cs_test(NAME test_common SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_common.c LABELS unit LIBS cs_common)
