# Test helpers: GoogleTest executables discovered into ctest with labels, and the
# Python that has NumPy/h5py (Debian's /usr/bin/python3 unless $PYTHON says otherwise).
# Cross builds (cmake/toolchain-aarch64.cmake) build GoogleTest for the target from
# Debian's sources (/usr/src/googletest, package googletest) and run each test program
# under qemu once per emulated CPU instead of discovering its tests (tests/cross).
if(CMAKE_CROSSCOMPILING)
  set(TALLY_GTEST_SOURCE_DIR /usr/src/googletest CACHE PATH "GoogleTest sources built for the cross target")
  if(NOT EXISTS ${TALLY_GTEST_SOURCE_DIR}/CMakeLists.txt)
    message(FATAL_ERROR "no GoogleTest sources at ${TALLY_GTEST_SOURCE_DIR}: install googletest (scripts/setup does)")
  endif()
  set(BUILD_GMOCK OFF CACHE BOOL "" FORCE)
  set(INSTALL_GTEST OFF CACHE BOOL "" FORCE)
  add_subdirectory(${TALLY_GTEST_SOURCE_DIR} ${CMAKE_BINARY_DIR}/googletest EXCLUDE_FROM_ALL SYSTEM)
  # g++ 12 reports a false -Wrestrict inside GoogleTest's own string code (GCC bug 105329).
  target_compile_options(gtest PRIVATE -Wno-restrict)
  if(NOT TARGET GTest::gtest_main)
    add_library(GTest::gtest_main ALIAS gtest_main)
  endif()
else()
  find_package(GTest REQUIRED)
  include(GoogleTest)
endif()

if(DEFINED ENV{PYTHON})
  set(_tally_python_default $ENV{PYTHON})
else()
  set(_tally_python_default /usr/bin/python3)
endif()
set(TALLY_PYTHON ${_tally_python_default} CACHE FILEPATH "Python with numpy, h5py and matplotlib")

# The emulated CPUs of the cross tests: NEON only, and SVE at 128, 256 and 512 bits
# (qemu-aarch64 -cpu; `max` has SVE2). Each name becomes cross.<name>.<test program>.
set(TALLY_CROSS_CPU_NAMES neon sve128 sve256 sve512)
set(TALLY_CROSS_CPU_neon cortex-a72)
set(TALLY_CROSS_CPU_sve128 max,sve128=on)
set(TALLY_CROSS_CPU_sve256 max,sve256=on)
set(TALLY_CROSS_CPU_sve512 max,sve512=on)
# --gtest_filter per emulated CPU: qemu is slow. Each SVE CPU runs the SVE and SVE2
# kernels (and NEON's again), every path bit-exact; the path-independent piece machinery
# (KernelPieces) runs on the neon CPU only, and the long sums (about 27 s per CPU under
# qemu; they run the best path only) on neon and on sve512 (SVE2 at its widest vectors).
set(TALLY_CROSS_GTEST_FILTER_neon "*" CACHE STRING "--gtest_filter of the test programs on the neon CPU (cross label)")
set(TALLY_CROSS_GTEST_FILTER_sve512 "-KernelPieces.*" CACHE STRING
    "--gtest_filter of the test programs on the sve512 CPU (cross label)")
foreach(cpu sve128 sve256)
  set(TALLY_CROSS_GTEST_FILTER_${cpu} "-*LongSums*:KernelPieces.*" CACHE STRING
      "--gtest_filter of the test programs on the ${cpu} CPU (cross label)")
endforeach()

# tally_add_cross_test(NAME name COMMAND exe args… [GTEST]): one ctest test per emulated
# CPU, cross.<cpu>.<name>, running `exe args…` under qemu-aarch64 (tests/cross/qemu-run;
# skipped, exit 77, where qemu or the arm64 runtime is missing); GTEST adds the CPU's
# --gtest_filter.
function(tally_add_cross_test)
  cmake_parse_arguments(ARG "GTEST" "NAME;TIMEOUT" "COMMAND" ${ARGN})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  foreach(cpu IN LISTS TALLY_CROSS_CPU_NAMES)
    set(filter "")
    if(ARG_GTEST)
      set(filter --gtest_filter=${TALLY_CROSS_GTEST_FILTER_${cpu}})
    endif()
    add_test(NAME cross.${cpu}.${ARG_NAME}
             COMMAND ${PROJECT_SOURCE_DIR}/tests/cross/qemu-run ${TALLY_CROSS_CPU_${cpu}} ${ARG_TIMEOUT} ${ARG_COMMAND}
                     ${filter})
    set_tests_properties(cross.${cpu}.${ARG_NAME} PROPERTIES LABELS cross SKIP_RETURN_CODE 77
                         TIMEOUT ${ARG_TIMEOUT} ENVIRONMENT "TALLY_CROSS_CPU_NAME=${cpu}")
  endforeach()
endfunction()

# tally_add_gtest(NAME name SOURCES … [LIBS …] [LABELS …])
function(tally_add_gtest)
  cmake_parse_arguments(ARG "" "NAME" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SOURCES})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_LIBS} GTest::gtest_main tally::warnings)
  if(CMAKE_CROSSCOMPILING)
    tally_add_cross_test(NAME ${ARG_NAME} COMMAND $<TARGET_FILE:${ARG_NAME}> GTEST)
  elseif(TALLY_CORE_ONLY)
    gtest_discover_tests(${ARG_NAME} PROPERTIES LABELS "${ARG_LABELS}" DISCOVERY_TIMEOUT 60)
  else()
    gtest_discover_tests(${ARG_NAME} PROPERTIES LABELS "${ARG_LABELS}"
                         ENVIRONMENT "TALLY_BIN=$<TARGET_FILE:tally>;PYTHON=${TALLY_PYTHON};TALLY_SOURCE_DIR=${PROJECT_SOURCE_DIR}"
                         DISCOVERY_TIMEOUT 60)
  endif()
endfunction()
