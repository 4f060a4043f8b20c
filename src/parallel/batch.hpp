#pragma once
// Computing one batch, the same on rank 0 and on workers: chunk sums with OpenMP
// threads, the opt-in histogram of the tasks it touches, and the time it took.
#include <cstdint>
#include <optional>
#include <vector>

#include "core/kernel.hpp"
#include "parallel/scheduler.hpp"

namespace tally::parallel {

struct BatchResult {
  Batch batch;
  std::vector<core::ChunkSum> sums;      ///< one per chunk of the batch
  core::TaskId first_task = 0;           ///< histogram rows cover tasks first_task …
  std::vector<std::int64_t> histogram;   ///< (tasks touched) × span counts; empty if not asked
  double busy_seconds = 0;
  std::uint64_t draws = 0;
};

/// `between` is called on this thread between pieces of the batch (sums and histogram
/// alike; core::Kernel::kMaxPiece draws at most), whatever --chunk is. nullopt when it
/// abandoned the batch (a stop): none of its chunks count.
[[nodiscard]] std::optional<BatchResult> compute_batch(const core::Kernel& kernel, const Batch& batch, int threads,
                                                       bool histogram, const core::Kernel::BetweenPieces& between = {});

/// Adds a batch's histogram rows into the run's tasks × span histogram.
void add_histogram(const BatchResult& result, std::uint64_t span, std::vector<std::int64_t>& run_histogram);

}  // namespace tally::parallel
