# SGP4/SDP4 and TLE tests (orbits/orb_sgp4.*, orbits/orb_sdp4.c, orbits/orb_tle.*).

# Verification against Vallado et al. 2006 (../shared/orbits/SGP4-VER.TLE + tcppver.out):
# one ctest per catalogue number of the set (20413 covers both of its element sets).
add_executable(test_sgp4_ver ${CMAKE_CURRENT_LIST_DIR}/test_sgp4_ver.c)
target_include_directories(test_sgp4_ver PRIVATE ${PROJECT_SOURCE_DIR}/tests)
target_link_libraries(test_sgp4_ver PRIVATE cs_orbits)
set(CS_SGP4_VER_SATS
  5 4632 6251 8195 9880 9998 11801 14128 16925 20413 21897 22312 22674 23177 23333 23599 24208
  25954 26900 26975 28057 28129 28350 28623 28626 28872 29141 29238 88888 33333 33334 33335)
foreach(sat ${CS_SGP4_VER_SATS})
  cs_test_register(NAME sgp4_ver_${sat} EXE test_sgp4_ver LABELS golden ARGS ${sat})
endforeach()

cs_test(NAME test_tle SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_tle.c LABELS unit LIBS cs_orbits)
