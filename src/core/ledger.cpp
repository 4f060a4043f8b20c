#include "core/ledger.hpp"

#include "core/error.hpp"
#include "core/kernel.hpp"

namespace tally::core {

Ledger::Ledger(const Config& config)
    : config_(config),
      done_(config.chunk_count(), 0),
      chunks_(config.chunk_count()),
      tails_(std::size_t(config.tasks), 0),
      tail_done_(std::size_t(config.tasks), 0) {}

bool Ledger::record(ChunkId id, ChunkSum sum) {
  if (id >= done_.size()) throw Error(ExitCode::kFailure, "chunk " + std::to_string(id) + " is out of range");
  if (done_[id]) {
    if (chunks_[id] != sum)
      throw Error(ExitCode::kFailure, "chunk " + std::to_string(id) + " was reported twice with different sums");
    return false;
  }
  done_[id] = 1;
  chunks_[id] = sum;
  ++done_count_;
  return true;
}

std::uint64_t Ledger::missing(TaskId t) const {
  std::uint64_t out = 0;
  const std::uint64_t per = config_.chunks_per_task();
  for (ChunkId id = t * per; id < (t + 1) * per; ++id) out += chunks_[id].missing;
  return out;
}

bool Ledger::task_complete(TaskId t) const {
  const std::uint64_t per = config_.chunks_per_task();
  for (ChunkId id = t * per; id < (t + 1) * per; ++id)
    if (!done_[id]) return false;
  return true;
}

// Sums are 128-bit: at most 2^63 draws of values below 2^63 in magnitude stay below 2^126.
i128 Ledger::task_sum(TaskId t) const {
  i128 out = tails_[t];
  const std::uint64_t per = config_.chunks_per_task();
  for (ChunkId id = t * per; id < (t + 1) * per; ++id)
    if (done_[id]) out += chunks_[id].sum;
  return out;
}

std::int64_t Ledger::task_count(TaskId t) const {
  std::int64_t out = 0;
  const std::uint64_t per = config_.chunks_per_task();
  for (ChunkId id = t * per; id < (t + 1) * per; ++id)
    if (done_[id]) out += std::int64_t(config_.indices_of(id).size() - chunks_[id].missing);
  // A tail supplies exactly the values the task's chunks were missing.
  if (tail_done_[t]) out += std::int64_t(missing(t));
  return out;
}

i128 Ledger::total_sum() const {
  i128 out = 0;
  for (TaskId t = 0; t < TaskId(config_.tasks); ++t) out += task_sum(t);
  return out;
}

std::int64_t Ledger::total_count() const {
  std::int64_t out = 0;
  for (TaskId t = 0; t < TaskId(config_.tasks); ++t) out += task_count(t);
  return out;
}

void Ledger::finish_tails(const Kernel& kernel, int threads) {
  std::vector<TaskId> tasks;
  std::vector<std::uint64_t> missing_units;
  for (TaskId t = 0; t < TaskId(config_.tasks); ++t)
    if (!tail_done_[t] && task_complete(t)) {
      tasks.push_back(t);
      missing_units.push_back(missing(t));
    }
  std::vector<i128> tails(tasks.size());
  kernel.tails(tasks, missing_units, tails, threads);  // in parallel, over tasks and inside long tails
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    tails_[tasks[i]] = tails[i];
    tail_done_[tasks[i]] = 1;
  }
}

Ledger Ledger::restore(const Config& config, const std::vector<std::uint8_t>& done,
                       const std::vector<ChunkSum>& chunks) {
  Ledger ledger(config);
  if (done.size() != ledger.done_.size() || chunks.size() != ledger.chunks_.size())
    throw Error(ExitCode::kCheckpoint, "checkpoint ledger sizes do not match its configuration");
  for (std::size_t i = 0; i < done.size(); ++i) {
    if (done[i] > 1) throw Error(ExitCode::kCheckpoint, "checkpoint ledger holds an invalid done flag");
    if (!done[i]) continue;
    // A chunk of n values lies in [n·lo, n·hi]; anything else is a corrupt ledger.
    const std::uint64_t size = config.indices_of(i).size();
    const i128 n = i128(size) - i128(chunks[i].missing);
    if (chunks[i].missing > size || chunks[i].sum < n * config.range.lo || chunks[i].sum > n * config.range.hi)
      throw Error(ExitCode::kCheckpoint, "checkpoint ledger holds an impossible sum for chunk " + std::to_string(i));
    ledger.record(i, chunks[i]);
  }
  return ledger;
}

}  // namespace tally::core
