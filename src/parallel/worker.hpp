#pragma once
// A worker rank's loop: keeps two requests in flight so its next batch is already
// there when it finishes one, computes batches with OpenMP threads, reports sums,
// sends heartbeats while a batch is long, and gives up on a silent coordinator.
#include "core/error.hpp"
#include "parallel/settings.hpp"
#include "parallel/transport.hpp"

namespace tally::parallel {

/// How a worker's run ended.
struct WorkerEnd {
  ExitCode code = ExitCode::kFailure;
  bool skip_finalize = false;  ///< a peer was lost: MPI_Finalize could wait on it forever
};

/// Runs until the coordinator has no more work or asks to stop, then says goodbye with
/// this rank's timing and returns what the coordinator decided. Throws when rank 0
/// stays silent past the peer timeout.
[[nodiscard]] WorkerEnd run_worker(const RunSettings& settings, Transport& transport, const Clock& clock);

}  // namespace tally::parallel
