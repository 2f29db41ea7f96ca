# constsim sweep end to end (tests/test_sweep.c; needs ../shared/eurosat). "basic": bad values,
# seeds and replicate statistics, failed points, a changed grid (about a minute). "grid": the
# 3 x 3 grid, killed and resumed, and under mpirun with 2 ranks when built with MPI (a few
# minutes; slow, so the sanitizer run leaves it out).
cs_test(NAME test_sweep SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_sweep.c LABELS e2e data ARGS basic
        LIBS cs_common PkgConfig::CJSON m)
if(CONSTSIM_MPI AND MPI_C_FOUND)
  set(CS_SWEEP_MPI mpi)
endif()
cs_test_register(NAME test_sweep_grid EXE test_sweep LABELS e2e data slow ARGS grid ${CS_SWEEP_MPI})
