# Test helpers: GoogleTest executables discovered into ctest with labels, and the
# Python that has NumPy/h5py (Debian's /usr/bin/python3 unless $PYTHON says otherwise).
find_package(GTest REQUIRED)
include(GoogleTest)

if(DEFINED ENV{PYTHON})
  set(_tally_python_default $ENV{PYTHON})
else()
  set(_tally_python_default /usr/bin/python3)
endif()
set(TALLY_PYTHON ${_tally_python_default} CACHE FILEPATH "Python with numpy, h5py and matplotlib")

# tally_add_gtest(NAME name SOURCES … [LIBS …] [LABELS …])
function(tally_add_gtest)
  cmake_parse_arguments(ARG "" "NAME" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SOURCES})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_LIBS} GTest::gtest_main tally::warnings)
  gtest_discover_tests(${ARG_NAME} PROPERTIES LABELS "${ARG_LABELS}"
                       ENVIRONMENT "TALLY_BIN=$<TARGET_FILE:tally>;PYTHON=${TALLY_PYTHON};TALLY_SOURCE_DIR=${PROJECT_SOURCE_DIR}"
                       DISCOVERY_TIMEOUT 60)
endfunction()
