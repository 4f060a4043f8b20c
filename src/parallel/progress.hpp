#pragma once
// Progress on rank 0's stderr: a live bar on a terminal, one JSON line every
// `interval` seconds otherwise (a Slurm log), nothing with --quiet.
#include <chrono>
#include <cstdint>

namespace tally::parallel {

class Progress {
 public:
  enum class Mode { kAuto, kOff };
  Progress(Mode mode, double interval_seconds, std::uint64_t total_draws, std::uint64_t done_before);

  /// Reports `done` draws (of the whole run) at most once per interval.
  void update(std::uint64_t done);
  /// Final line (a terminal's bar is completed and ended with a newline).
  void finish(std::uint64_t done);

 private:
  using Clock = std::chrono::steady_clock;
  void print(std::uint64_t done, bool final);

  bool enabled_;
  bool terminal_;
  double interval_;
  std::uint64_t total_;
  std::uint64_t done_before_;  // resumed draws do not count toward the rate
  Clock::time_point start_;
  Clock::time_point last_;
};

}  // namespace tally::parallel
