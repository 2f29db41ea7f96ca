# viz/: map outlines and their fill (viz/viz_geo.c). Only when the
# viz module is built (CONSTSIM_VIZ and sources in viz/).
if(TARGET cs_viz)
  # Skips (77) the Natural Earth checks when ../shared/geo is missing.
  cs_test(NAME test_viz_geo SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_viz_geo.c LABELS unit LIBS cs_viz)
  set_tests_properties(test_viz_geo PROPERTIES SKIP_RETURN_CODE 77)
endif()
