// tally: exact, restartable sums of huge random integer streams (MPI + OpenMP).
// main only parses the command line and turns every failure into one stderr line
// and the exit code of docs/cli.md; each subcommand tells its own story.
#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "app/commands.hpp"
#include "core/cpu.hpp"
#include "core/error.hpp"
#include "core/version.hpp"
#include "parallel/launcher.hpp"

int main(int argc, char** argv) {
  using namespace tally;
  CLI::App app{"tally — sums of huge random integer streams, exact and reproducible on any number of ranks "
               "and threads, restartable from checkpoints."};
  app.set_version_flag("--version", [] {
    // The kernel paths this CPU runs (best first) and the one this process takes.
    std::string paths;
    for (const auto p : core::kernel_paths_available()) paths += std::string(paths.empty() ? "" : ", ") + core::kernel_path_name(p);
    return fmt::format("tally {}\nkernel paths: {} (this run: {})", kVersion, paths, core::kernel_path_name());
  }());
  app.require_subcommand(1);
  app.footer("Exit codes: 0 done, 2 bad input, 3 checkpoint unusable, 85 stopped at a checkpoint (run again to "
             "resume), 1 other failure. Docs: docs/cli.md.");
  app::Action action;
  app::add_run_command(app, action, argc, argv);
  app::add_inspect_command(app, action);
  app::add_verify_command(app, action, argc, argv);

  // Under a launcher every rank parses the same line; only rank 0 speaks.
  const bool speaker = parallel::launcher_rank() == 0;
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return speaker ? app.exit(e) : 0;
  } catch (const CLI::ParseError& e) {
    if (speaker) fmt::print(stderr, "tally: error: {}\n", e.what());
    return int(ExitCode::kUsage);
  }
  // TALLY_KERNEL names a path this CPU cannot run, or no path at all: refuse, naming
  // the paths it can (a silent fallback would hide a typo in a job script).
  if (const std::string problem = core::kernel_choice_problem(); !problem.empty()) {
    if (speaker) fmt::print(stderr, "tally: error: {}\n", problem);
    return int(ExitCode::kUsage);
  }
  try {
    return action();
  } catch (const Error& e) {
    if (speaker) fmt::print(stderr, "tally: error: {}\n", e.what());
    return int(e.code());
  } catch (const std::exception& e) {
    if (speaker) fmt::print(stderr, "tally: error: {}\n", e.what());
    return int(ExitCode::kFailure);
  }
}
