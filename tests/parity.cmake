# PyTorch parity of a model trained and saved by constsim: same accuracy on the same images.
cs_test_register(NAME torch_eval_parity EXE /usr/bin/python3
  ARGS ${PROJECT_SOURCE_DIR}/bench/torch_eval_parity.py --every 10
  LABELS golden data)
