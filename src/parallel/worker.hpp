#pragma once
// A worker rank's loop: keeps two requests in flight so its next batch is already
// there when it finishes one, computes batches with OpenMP threads, reports sums.
#include <mpi.h>

#include "core/error.hpp"
#include "parallel/run.hpp"

namespace tally::parallel {

/// Runs until the coordinator has no more work or asks to stop, then says goodbye with
/// this rank's timing and returns the exit code the coordinator decided.
[[nodiscard]] ExitCode run_worker(const RunSettings& settings, MPI_Comm comm);

}  // namespace tally::parallel
