#include "parallel/scheduler.hpp"

#include <algorithm>

namespace tally::parallel {

void RankSpeed::reported(std::uint64_t draws, double now) {
  // A plain request starts nothing to time: the gap up to the first result also holds
  // the wait for the first assignment (long when thousands of ranks start at once).
  // From the first result on, the worker's next batch was already queued.
  if (draws == 0) return;
  if (last_ >= 0 && now >= last_) {
    // Draws and gaps are averaged separately and divided: a gap is measured when rank 0
    // reads the result, so results that waited in its queue (rank 0 away writing a
    // checkpoint, or off its core) come with one long gap and then short ones, which
    // cancel in the averages; one gap near zero raises the estimate by a third at most.
    const double gap = now - last_;
    if (gap_average_ <= 0) {
      draws_average_ = double(draws);
      gap_average_ = gap;
    } else {
      draws_average_ += (double(draws) - draws_average_) / 4;
      gap_average_ += (gap - gap_average_) / 4;
    }
    if (gap_average_ > 0) rate_ = draws_average_ / gap_average_;
  }
  last_ = now;
}

double Scheduler::target_batch_seconds(int ranks) {
  return std::clamp(double(std::max(ranks, 1)) / kResultsPerSecond, kMinBatchSeconds, kMaxBatchSeconds);
}

Scheduler::Scheduler(const core::Ledger& ledger, int ranks, Pacing pacing)
    : ledger_(ledger),
      ranks_(std::uint64_t(std::max(ranks, 1))),
      pacing_(pacing),
      speeds_(std::size_t(std::max(ranks, 1))),
      pending_(ledger.size() - ledger.done_count()) {
  pacing_.threads = std::max(pacing_.threads, 1);
}

void Scheduler::reported(int rank, const Batch& batch, double now) {
  if (rank < 0 || std::size_t(rank) >= speeds_.size()) return;
  speeds_[std::size_t(rank)].reported(batch.count * std::uint64_t(ledger_.config().chunk), now);
}

std::uint64_t Scheduler::draw_budget(int rank) const {
  const std::uint64_t cap = kMaxBatchDrawsPerThread * std::uint64_t(pacing_.threads);
  const double rate = rank >= 0 && std::size_t(rank) < speeds_.size() ? speeds_[std::size_t(rank)].draws_per_second() : 0;
  if (pacing_.batch_seconds <= 0) return cap;
  // Speed not known yet: the cap, stretched as the target is, so that thousands of
  // ranks starting at once do not all come back within milliseconds.
  if (rate <= 0) return std::uint64_t(double(cap) * std::max(1.0, pacing_.batch_seconds / kMinBatchSeconds));
  // Capped far above any real batch so the conversion cannot overflow.
  return std::uint64_t(std::min(rate * pacing_.batch_seconds, 0x1p62));
}

std::optional<Batch> Scheduler::next_for(int rank) {
  const std::uint64_t budget = draw_budget(rank);
  const bool timed = pacing_.batch_seconds > 0 && rank >= 0 && std::size_t(rank) < speeds_.size() &&
                     speeds_[std::size_t(rank)].draws_per_second() > 0;
  // Toward the end batches shrink, but not below half the target: halving down to one
  // chunk would multiply rank 0's message rate by the budget in chunks just when every
  // rank asks at once (measured: 10^5 ranks swamp it). The last batches may then end up
  // to half a target apart.
  return next(budget, timed ? budget / 2 : 0);
}

void Scheduler::give_back(const Batch& batch) {
  if (batch.count == 0) return;
  returned_.push_back(batch);
  pending_ += batch.count;
}

std::optional<Batch> Scheduler::next(std::uint64_t max_draws, std::uint64_t min_draws) {
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
  const std::uint64_t by_share = std::max<std::uint64_t>(min_draws / chunk, pending_ / (2 * ranks_));
  const std::uint64_t by_draws = std::max<std::uint64_t>(1, max_draws / chunk);
  const std::uint64_t want = std::max<std::uint64_t>(1, std::min({by_share, by_draws, kMaxBatchChunks}));
  Batch batch{cursor_, 0};
  while (batch.count < want && cursor_ < ledger_.size() && !ledger_.done(cursor_)) {
    ++batch.count;
    ++cursor_;
  }
  pending_ -= batch.count;
  return batch;
}

}  // namespace tally::parallel
