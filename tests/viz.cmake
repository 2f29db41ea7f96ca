# viz/: map outlines and their fill, PNG screenshots (viz/viz_geo.c, viz/viz_png.c). Only when the
# viz module is built (CONSTSIM_VIZ and sources in viz/).
if(TARGET cs_viz)
  # Skips (77) the Natural Earth checks when ../shared/geo is missing.
  cs_test(NAME test_viz_geo SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_viz_geo.c LABELS unit LIBS cs_viz)
  set_tests_properties(test_viz_geo PROPERTIES SKIP_RETURN_CODE 77)
  cs_test(NAME test_viz_png SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_viz_png.c LABELS unit LIBS cs_viz)
  # The same PNGs read by Python PIL, and PIL's PNGs (all five row filters) read by tests/t_png.h;
  # skips (77) without python3 and PIL.
  cs_test_register(NAME test_viz_png_pil EXE test_viz_png LABELS golden ARGS --pil)
  set_tests_properties(test_viz_png_pil PROPERTIES SKIP_RETURN_CODE 77)
endif()

# constsim viz --headless end to end (tests/test_viz.c): an orbits-only frame checked against
# orbits/ and `constsim contacts`; a report replayed and compared with the live view at the same
# times (real training on a EuroSAT subset: label data).
if(TARGET cs_viz)
  cs_test(NAME test_viz_frame SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_viz.c LABELS e2e ARGS frame LIBS cs_viz)
  # 12 live frames, each simulated from the start: slow under the sanitizers (410 s), 13 s in
  # the release build; replay-quick compares one of them.
  cs_test_register(NAME test_viz_replay EXE test_viz_frame LABELS e2e data slow ARGS replay)
  cs_test_register(NAME test_viz_replay_quick EXE test_viz_frame LABELS e2e data ARGS replay-quick)
endif()
