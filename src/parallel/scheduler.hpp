#pragma once
// Dynamic self-scheduling of chunk batches: the coordinator hands out contiguous runs
// of pending chunks whose size shrinks with the work left (guided scheduling), so that
// all ranks finish together. Pure logic, no MPI: unit-tested on its own.
#include <cstdint>
#include <optional>
#include <vector>

#include "core/ledger.hpp"

namespace tally::parallel {

/// Contiguous chunks [first, first + count).
struct Batch {
  core::ChunkId first = 0;
  std::uint64_t count = 0;
};

class Scheduler {
 public:
  /// Largest batch in draws per thread of the rank that computes it, so that a stop
  /// request is honoured within well under a second even on the slowest path.
  static constexpr std::uint64_t kMaxBatchDrawsPerThread = std::uint64_t{1} << 26;
  /// Largest batch in chunks, so a result message stays near a megabyte.
  static constexpr std::uint64_t kMaxBatchChunks = std::uint64_t{1} << 16;

  /// Pending = every chunk the ledger does not have yet; `ranks` share them.
  Scheduler(const core::Ledger& ledger, int ranks);

  /// The next batch of at most `max_draws` draws (at least one chunk), nullopt when
  /// every chunk has been handed out. Chunks given back come first.
  [[nodiscard]] std::optional<Batch> next(std::uint64_t max_draws = kMaxBatchDrawsPerThread);
  /// Returns a handed-out batch whose results will never come (its rank was lost):
  /// its chunks that are still not done are handed out again.
  void give_back(const Batch& batch);
  [[nodiscard]] std::uint64_t pending() const { return pending_; }

 private:
  const core::Ledger& ledger_;
  std::uint64_t ranks_;
  core::ChunkId cursor_ = 0;
  std::uint64_t pending_ = 0;
  std::vector<Batch> returned_;  // given back, not yet handed out again
};

}  // namespace tally::parallel
