#include "parallel/scheduler.hpp"

#include <algorithm>

namespace tally::parallel {

Scheduler::Scheduler(const core::Ledger& ledger, int ranks)
    : ledger_(ledger), ranks_(std::uint64_t(std::max(ranks, 1))), pending_(ledger.size() - ledger.done_count()) {}

void Scheduler::give_back(const Batch& batch) {
  if (batch.count == 0) return;
  returned_.push_back(batch);
  pending_ += batch.count;
}

std::optional<Batch> Scheduler::next(std::uint64_t max_draws) {
  const std::uint64_t limit = std::max<std::uint64_t>(1, max_draws / std::uint64_t(ledger_.config().chunk));
  while (!returned_.empty()) {
    // Given-back chunks go out again in runs that skip any done meanwhile.
    Batch& back = returned_.back();
    while (back.count > 0 && ledger_.done(back.first)) {
      ++back.first;
      --back.count;
      --pending_;
    }
    if (back.count == 0) {
      returned_.pop_back();
      continue;
    }
    Batch batch{back.first, 0};
    while (batch.count < std::min({back.count, limit, kMaxBatchChunks}) && !ledger_.done(batch.first + batch.count))
      ++batch.count;
    back.first += batch.count;
    back.count -= batch.count;
    pending_ -= batch.count;
    if (back.count == 0) returned_.pop_back();
    return batch;
  }
  while (cursor_ < ledger_.size() && ledger_.done(cursor_)) ++cursor_;
  if (cursor_ >= ledger_.size()) return std::nullopt;
  // Guided: a share of what is left per rank, halved so the last batches are small.
  const std::uint64_t chunk = std::uint64_t(ledger_.config().chunk);
  const std::uint64_t by_share = std::max<std::uint64_t>(1, pending_ / (2 * ranks_));
  const std::uint64_t by_draws = std::max<std::uint64_t>(1, max_draws / chunk);
  const std::uint64_t want = std::min({by_share, by_draws, kMaxBatchChunks});
  Batch batch{cursor_, 0};
  while (batch.count < want && cursor_ < ledger_.size() && !ledger_.done(cursor_)) {
    ++batch.count;
    ++cursor_;
  }
  pending_ -= batch.count;
  return batch;
}

}  // namespace tally::parallel
