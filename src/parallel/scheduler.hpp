#pragma once
// Dynamic self-scheduling of chunk batches: the coordinator hands out contiguous runs
// of pending chunks whose size shrinks with the work left (guided scheduling), so that
// all ranks finish together. A worker's batch is sized by its measured speed to a
// target duration that grows with the rank count, so rank 0 receives a bounded number
// of results per second however many ranks there are (docs/performance.md, "Scaling
// model"). Pure logic, no MPI and no clock of its own: unit-tested on its own.
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

/// How long a worker's batches should last.
struct Pacing {
  int threads = 1;            ///< per rank (ranks are assumed alike)
  double batch_seconds = 0;   ///< target duration of a worker's batch; 0: the fixed cap only
};

/// A rank's speed in draws per second, measured by rank 0 from the time between its
/// results: a worker computes its batches back to back (its next one is already queued),
/// so the gap between two results is the duration of the second one. Averaged over the
/// last few batches (weights 1/4, 3/16, …).
class RankSpeed {
 public:
  /// The rank sent results (or its first request, `draws` = 0) that rank 0 read at `now`.
  void reported(std::uint64_t draws, double now);
  /// 0 until a batch has been timed.
  [[nodiscard]] double draws_per_second() const { return rate_; }

 private:
  double last_ = -1;  // when the rank last reported; < 0: never
  double draws_average_ = 0;
  double gap_average_ = 0;
  double rate_ = 0;
};

class Scheduler {
 public:
  /// Largest batch in draws per thread before a rank's speed is known (stretched as the
  /// target is, beyond 2·10^4 ranks) and on every batch when pacing is off: a fraction of
  /// a second on nearly every kernel path.
  static constexpr std::uint64_t kMaxBatchDrawsPerThread = std::uint64_t{1} << 26;
  /// Largest batch in chunks, so a result message stays near a megabyte.
  static constexpr std::uint64_t kMaxBatchChunks = std::uint64_t{1} << 16;
  /// Results per second rank 0 is asked to absorb at most (about a quarter of its time
  /// at the cost bench/coordinator_bench.cpp measures), and the bounds of a batch's target:
  /// at most half a second, below the default heartbeat period (1 s), so that results
  /// double as heartbeats both ways and a stop or a lost rank costs at most that much of
  /// one rank's work per batch.
  static constexpr double kResultsPerSecond = 2e5;
  static constexpr double kMinBatchSeconds = 0.1;
  static constexpr double kMaxBatchSeconds = 0.5;

  /// Target batch duration for `ranks` ranks: each rank reports once per batch, so
  /// ranks / duration results per second reach rank 0; kept at kResultsPerSecond or
  /// below up to 10^5 ranks.
  [[nodiscard]] static double target_batch_seconds(int ranks);

  /// Pending = every chunk the ledger does not have yet; `ranks` share them.
  Scheduler(const core::Ledger& ledger, int ranks, Pacing pacing = {});

  /// The next batch of at most `max_draws` draws (at least one chunk) and, while that
  /// many are pending, at least `min_draws`; nullopt when every chunk has been handed
  /// out. Chunks given back come first.
  [[nodiscard]] std::optional<Batch> next(std::uint64_t max_draws = kMaxBatchDrawsPerThread,
                                          std::uint64_t min_draws = 0);
  /// The next batch for worker `rank`: its measured speed × the target duration (at least
  /// half of that toward the end), or the fixed cap until its speed is known.
  [[nodiscard]] std::optional<Batch> next_for(int rank);
  /// Worker `rank` reported `batch` (empty: a plain request) at `now`.
  void reported(int rank, const Batch& batch, double now);
  /// Draws the next batch of `rank` may hold (before the guided share and the chunk cap).
  [[nodiscard]] std::uint64_t draw_budget(int rank) const;
  /// Returns a handed-out batch whose results will never come (its rank was lost):
  /// its chunks that are still not done are handed out again.
  void give_back(const Batch& batch);
  [[nodiscard]] std::uint64_t pending() const { return pending_; }

 private:
  const core::Ledger& ledger_;
  std::uint64_t ranks_;
  Pacing pacing_;
  std::vector<RankSpeed> speeds_;  // index = rank
  core::ChunkId cursor_ = 0;
  std::uint64_t pending_ = 0;
  std::vector<Batch> returned_;  // given back, not yet handed out again
};

}  // namespace tally::parallel
