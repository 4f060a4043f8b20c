// tally: exact, restartable sums of huge random integer streams (MPI + OpenMP).
// main only parses the command line and turns every failure into one stderr line
// and the exit code of docs/cli.md; each subcommand tells its own story.
#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "app/commands.hpp"
#include "core/error.hpp"
#include "core/version.hpp"
#include "parallel/launcher.hpp"

int main(int argc, char** argv) {
  using namespace tally;
  CLI::App app{"tally — sums of huge random integer streams, exact and reproducible on any number of ranks "
               "and threads, restartable from checkpoints."};
  app.set_version_flag("--version", std::string("tally ") + kVersion);
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
