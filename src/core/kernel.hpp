#pragma once
// The kernel: exact sums of chunks of either stream, with SIMD inside a thread and
// OpenMP threads across the pieces of a batch. Results never depend on the split.
#include <cstdint>
#include <functional>
#include <span>
#include <variant>

#include "core/config.hpp"
#include "core/stream_fast.hpp"
#include "core/stream_numpy.hpp"
#include "core/types.hpp"

namespace tally::core {

class Kernel {
 public:
  explicit Kernel(const Config& config);

  [[nodiscard]] const Config& config() const { return config_; }

  /// Exact sum of indices [r.begin, r.end) of task t on the calling thread.
  [[nodiscard]] ChunkSum sum(TaskId t, IndexRange r) const;
  /// Same, computed one value at a time from the stream's scalar definition (the oracle).
  [[nodiscard]] ChunkSum sum_reference(TaskId t, IndexRange r) const;
  [[nodiscard]] ChunkSum sum_chunk(ChunkId id) const { return sum(config_.task_of(id), config_.indices_of(id)); }
  /// The task's tail: values that make up for `missing` rejected units (numpy only, else 0).
  [[nodiscard]] i128 tail(TaskId t, std::uint64_t missing) const;
  /// The tails of tasks[i] with missing[i] into out[i], with `threads` OpenMP threads
  /// (≤ 0: OpenMP's default). Long tails run through the vector kernel in parallel
  /// pieces (raw units [n, n + m) give the next accepted values when m are still
  /// needed), short remainders block by block, tasks in parallel.
  void tails(std::span<const TaskId> tasks, std::span<const std::uint64_t> missing, std::span<i128> out,
             int threads) const;

  /// Histogram (opt-in): adds the counts of the values of chunk `id` to `counts`
  /// (span entries, value lo first), and of task t's tail to `counts`.
  void count_chunk(ChunkId id, std::span<std::int64_t> counts) const;
  void count_tail(TaskId t, std::uint64_t missing, std::span<std::int64_t> counts) const;

  /// Called on the calling thread between pieces of a batch's work (pieces are at most
  /// kMaxPiece draws, 5 to 300 ms measured on every path, whatever --chunk is), so the
  /// rank's MPI thread stays responsive. Returns false to abandon the rest of the work.
  using BetweenPieces = std::function<bool()>;

  /// Sums the chunks `ids` into `out` with `threads` OpenMP threads, splitting chunks
  /// into pieces so that any batch keeps every thread busy. Returns false when
  /// `between` abandoned the work (then `out` is incomplete). An exception thrown by
  /// `between` or a piece cancels the remaining pieces and is rethrown here, after every
  /// thread has left the parallel region.
  bool sum_chunks(std::span<const ChunkId> ids, std::span<ChunkSum> out, int threads,
                  const BetweenPieces& between = {}) const;
  /// Histogram of the chunks `ids` (ascending), cut into pieces like sum_chunks: adds
  /// each chunk's counts to row (task − first_task) of `counts` (rows × span). Each
  /// thread counts into a copy of `counts` (threads × rows × span cells; memory_budget
  /// counts them). Returns false when `between` abandoned the work.
  bool count_chunks(std::span<const ChunkId> ids, TaskId first_task, std::span<std::int64_t> counts, int threads,
                    const BetweenPieces& between = {}) const;

  /// Largest piece of work between two calls of BetweenPieces, in draws (raw units).
  static constexpr Index kMaxPiece = Index{1} << 22;

 private:
  Config config_;
  std::variant<FastStream, NumpyStream> stream_;
};

}  // namespace tally::core
