# INTERFACE targets every tally target links: language level, warnings, tuning,
# sanitizers. Sanitizers come from the presets through TALLY_SANITIZE.
set(CMAKE_CXX_STANDARD 20)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_CXX_EXTENSIONS ON)  # unsigned __int128 in constexpr code
set(CMAKE_EXPORT_COMPILE_COMMANDS ON)
set(TALLY_SANITIZE "" CACHE STRING "Comma-separated -fsanitize= list (address,undefined or thread)")

add_library(tally_options INTERFACE)
add_library(tally::options ALIAS tally_options)
target_compile_features(tally_options INTERFACE cxx_std_20)
if(TALLY_NATIVE)
  target_compile_options(tally_options INTERFACE -march=native)
endif()
if(TALLY_OPENMP)
  target_link_libraries(tally_options INTERFACE OpenMP::OpenMP_CXX)
else()
  target_compile_options(tally_options INTERFACE -fopenmp-simd -Wno-unknown-pragmas)
endif()
if(TALLY_SANITIZE)
  target_compile_options(tally_options INTERFACE -fsanitize=${TALLY_SANITIZE} -fno-omit-frame-pointer)
  target_link_options(tally_options INTERFACE -fsanitize=${TALLY_SANITIZE})
endif()

add_library(tally_warnings INTERFACE)
add_library(tally::warnings ALIAS tally_warnings)
target_compile_options(tally_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion
                                                -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Wnull-dereference)
# -Wpedantic would reject __int128; it is a GNU extension we rely on deliberately.
target_compile_options(tally_warnings INTERFACE -Wno-pedantic)
