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

  /// Sums the chunks `ids` into `out` with `threads` OpenMP threads, splitting chunks
  /// into pieces so that any batch keeps every thread busy. `tick`, when given, is
  /// called on the calling thread between pieces (a few ms apart): the rank's MPI
  /// thread stays responsive however large a chunk is.
  void sum_chunks(std::span<const ChunkId> ids, std::span<ChunkSum> out, int threads,
                  const std::function<void()>& tick = {}) const;

 private:
  Config config_;
  std::variant<FastStream, NumpyStream> stream_;
};

}  // namespace tally::core
