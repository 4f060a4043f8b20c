# Run at build time (cmake -P): writes build_info.hpp with the git commit and whether
# the tree was dirty, rewriting it only when something changed (so a new commit is
# recorded without reconfiguring, and an unchanged tree rebuilds nothing).
# Inputs: SOURCE_DIR, OUTPUT, BUILD_TYPE, COMPILER, FLAGS.
set(commit "unknown")
set(dirty "unknown")
find_package(Git QUIET)
if(GIT_FOUND AND EXISTS "${SOURCE_DIR}/.git")
  execute_process(COMMAND "${GIT_EXECUTABLE}" -C "${SOURCE_DIR}" rev-parse HEAD
                  OUTPUT_VARIABLE commit OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc ERROR_QUIET)
  if(NOT rc EQUAL 0)
    set(commit "unknown")
  else()
    execute_process(COMMAND "${GIT_EXECUTABLE}" -C "${SOURCE_DIR}" status --porcelain --untracked-files=no
                    OUTPUT_VARIABLE changes RESULT_VARIABLE rc ERROR_QUIET)
    if(rc EQUAL 0 AND changes STREQUAL "")
      set(dirty "no")
    elseif(rc EQUAL 0)
      set(dirty "yes")
    endif()
  endif()
endif()
string(REPLACE "\"" "\\\"" FLAGS "${FLAGS}")
set(content "#pragma once
// Generated at build time by cmake/BuildInfo.cmake: what built this binary.
namespace tally::build {
inline constexpr const char* kGitCommit = \"${commit}\";
inline constexpr const char* kGitDirty = \"${dirty}\";
inline constexpr const char* kBuildType = \"${BUILD_TYPE}\";
inline constexpr const char* kCompiler = \"${COMPILER}\";
inline constexpr const char* kCompilerFlags = \"${FLAGS}\";
}  // namespace tally::build
")
if(EXISTS "${OUTPUT}")
  file(READ "${OUTPUT}" old)
endif()
if(NOT old STREQUAL content)
  file(WRITE "${OUTPUT}" "${content}")
endif()
