#pragma once
// `--max-seconds`: when a start must stop handing out work. Two rules beyond "S seconds
// have passed":
// - progress: the limit is honoured only once this start has finished some work, so a
//   requeue loop with a tiny limit still moves forward on every start;
// - the stop's own write: the stop ends with a checkpoint write whose length grows with
//   the ledger, so the limit is brought forward by the longest checkpoint write seen in
//   this start (none seen yet: no margin, the limit is then the compute time).
// Pure arithmetic on times given to it, unit-tested with made-up times.
#include <algorithm>
#include <cstdint>

namespace tally::parallel {

class TimeLimit {
 public:
  /// `limit` seconds (≤ 0: none) from `start`; `draws_at_start`: work done before this start.
  TimeLimit(double limit, double start, std::uint64_t draws_at_start)
      : limit_(limit), start_(start), draws_at_start_(draws_at_start) {}

  /// A checkpoint write took `seconds`: the stop's write will take about as long.
  void note_write(double seconds) { write_margin_ = std::max(write_margin_, seconds); }

  [[nodiscard]] bool reached(double now, std::uint64_t done_draws) const {
    if (limit_ <= 0 || done_draws <= draws_at_start_) return false;
    return now - start_ + write_margin_ >= limit_;
  }
  [[nodiscard]] double write_margin() const { return write_margin_; }

 private:
  double limit_;
  double start_;
  std::uint64_t draws_at_start_;
  double write_margin_ = 0;
};

}  // namespace tally::parallel
