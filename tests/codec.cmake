# Safetensors, FP16/INT8 codecs, model files, constsim quantize (ml/nn_st.*, ml/nn_codec.*,
# ml/nn_fp16.c, cli/cmd_quantize.c).
# cs_ml does not link cJSON itself (it comes with cs_sim), so the ml-only tests add it.
set(CS_CODEC_LIBS cs_ml PkgConfig::CJSON)

cs_test(NAME test_fp16 SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_fp16.c LABELS unit LIBS ${CS_CODEC_LIBS})
cs_test_register(NAME test_fp16_exhaustive EXE test_fp16 LABELS slow ARGS --exhaustive)
# Exits 77 (skipped) on a CPU without F16C, the implementation it compares against.
set_tests_properties(test_fp16_exhaustive PROPERTIES SKIP_RETURN_CODE 77)
cs_test(NAME test_int8 SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_int8.c LABELS unit LIBS ${CS_CODEC_LIBS})
cs_test(NAME test_st SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_st.c LABELS unit LIBS ${CS_CODEC_LIBS})
cs_test(NAME test_codec SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_codec.c LABELS unit LIBS ${CS_CODEC_LIBS})
cs_test(NAME test_codec_torch SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_codec_torch.c LABELS golden LIBS ${CS_CODEC_LIBS})
set_tests_properties(test_codec_torch PROPERTIES SKIP_RETURN_CODE 77)
# constsim quantize end to end on a generated 40-image dataset (runs $CONSTSIM_EXE).
cs_test(NAME test_codec_quantize SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_codec_quantize.c LABELS unit LIBS cs_sim)
cs_test(NAME test_codec_model SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_codec_model.c LABELS unit LIBS ${CS_CODEC_LIBS})
cs_test(NAME test_codec_low SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_codec_low.c LABELS unit LIBS ${CS_CODEC_LIBS})
