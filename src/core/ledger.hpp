#pragma once
// The ledger: which chunks are done and what they summed to. Task sums, counts and the
// total are derived from it, never stored twice; the coordinator owns one, checkpoints
// and results files are its serialised form.
#include <cstdint>
#include <vector>

#include "core/config.hpp"
#include "core/types.hpp"

namespace tally::core {

class Kernel;

class Ledger {
 public:
  explicit Ledger(const Config& config);

  [[nodiscard]] const Config& config() const { return config_; }
  [[nodiscard]] std::uint64_t size() const { return done_.size(); }
  [[nodiscard]] bool done(ChunkId id) const { return done_[id] != 0; }
  [[nodiscard]] std::uint64_t done_count() const { return done_count_; }
  [[nodiscard]] bool complete() const { return done_count_ == done_.size(); }
  [[nodiscard]] const ChunkSum& chunk(ChunkId id) const { return chunks_[id]; }

  /// Records a finished chunk; true when it was not done before. Recording the same
  /// chunk twice with the same sum is a no-op (a resent or recomputed result); with a
  /// different sum it throws: nothing is counted twice.
  bool record(ChunkId id, ChunkSum sum);

  /// The task's tail (numpy stream), 0 until finish_tails() has computed it.
  [[nodiscard]] i128 tail(TaskId t) const { return tails_[t]; }
  [[nodiscard]] bool tail_done(TaskId t) const { return tail_done_[t] != 0; }
  /// Rejected units the task's tail must make up (sum over its done chunks).
  [[nodiscard]] std::uint64_t missing(TaskId t) const;
  [[nodiscard]] bool task_complete(TaskId t) const;

  /// Sum of the done chunks of task t plus its tail.
  [[nodiscard]] i128 task_sum(TaskId t) const;
  /// Values counted so far for task t.
  [[nodiscard]] std::int64_t task_count(TaskId t) const;
  [[nodiscard]] i128 total_sum() const;
  [[nodiscard]] std::int64_t total_count() const;

  /// Computes the tails of complete tasks that lack one, all at once with `threads`
  /// OpenMP threads (≤ 0: OpenMP's default). Tails are never stored: they are a
  /// deterministic function of the done chunks, so a restored ledger recomputes them.
  void finish_tails(const Kernel& kernel, int threads = 0);

  /// Raw access for serialisation.
  [[nodiscard]] const std::vector<std::uint8_t>& done_flags() const { return done_; }
  [[nodiscard]] const std::vector<ChunkSum>& chunks() const { return chunks_; }
  /// Rebuilds a ledger from serialised parts; throws a checkpoint Error if they disagree.
  static Ledger restore(const Config& config, const std::vector<std::uint8_t>& done,
                        const std::vector<ChunkSum>& chunks);

 private:
  Config config_;
  std::vector<std::uint8_t> done_;
  std::vector<ChunkSum> chunks_;
  std::vector<i128> tails_;
  std::vector<std::uint8_t> tail_done_;
  std::uint64_t done_count_ = 0;
};

}  // namespace tally::core
