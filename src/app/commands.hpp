#pragma once
// Each subcommand registers its CLI11 options and the action to run when chosen.
#include <CLI/CLI.hpp>

#include <functional>

#include "core/error.hpp"

namespace tally::parallel::mpi {
class Session;
}

namespace tally::app {

/// The chosen subcommand's body; returns the process exit code.
using Action = std::function<int()>;

void add_run_command(CLI::App& app, Action& action, int& argc, char**& argv);
void add_inspect_command(CLI::App& app, Action& action);
void add_verify_command(CLI::App& app, Action& action, int& argc, char**& argv);

/// A launcher of another MPI starts N singletons that would each do all the work (and
/// race on one file): a usage Error when MPI sees fewer processes than were launched.
void require_matching_launcher(const parallel::mpi::Session& session);

/// Rank 0's one error line, flushed at once: under a launcher it must be out before
/// rank 0 lets the workers go, for once a worker exits non-zero the launcher may end
/// rank 0 and a line printed later would be lost.
void print_error_now(const char* message);

/// A rank whose peers may be dead or stopped after an error: it prints its own line
/// and leaves without MPI_Finalize (which could wait on them); returns `code`.
int leave_without_peers(parallel::mpi::Session& session, const char* message, ExitCode code);

}  // namespace tally::app
