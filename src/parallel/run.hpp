#pragma once
// A whole run on this rank: start-up checks whose verdict every rank shares, resume
// from a checkpoint, coordinator or worker loop, final results file, exit code.
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "io/run_record.hpp"
#include "parallel/settings.hpp"

namespace tally::parallel {

namespace mpi {
class Session;
}

/// What a run ended with. `record` and `notes` are filled on rank 0 only.
struct RunOutcome {
  ExitCode code = ExitCode::kOk;
  std::optional<io::RunRecord> record;
  std::vector<std::string> notes;  ///< e.g. "resumed from …", "stopped by SIGUSR1"
  /// A peer was lost: leave MPI without MPI_Finalize, which could wait on it forever.
  bool skip_finalize = false;
};

/// Runs on this process alone (no MPI): threads only.
[[nodiscard]] RunOutcome run_local(const RunSettings& settings);
/// Runs as one rank of `session`. Errors found on rank 0 before any work are thrown on
/// every rank with the same code (usage 2, checkpoint 3); afterwards workers return the
/// code rank 0 gives them, and rank 0 the code of the run (docs/fault-tolerance.md).
[[nodiscard]] RunOutcome run_mpi(const RunSettings& settings, mpi::Session& session);

}  // namespace tally::parallel
