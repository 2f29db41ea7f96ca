cs_test(NAME test_common SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_common.c LABELS unit LIBS cs_common)
# The typed checks of tests/t.h.
cs_test(NAME test_t SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_t.c LABELS unit LIBS m)
