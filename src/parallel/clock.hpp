#pragma once
// Seconds on a monotonic clock, behind an interface so that the coordinator's decisions
// (deadlines, lost workers) are unit-tested with a fake clock.
#include <chrono>

namespace tally::parallel {

class Clock {
 public:
  virtual ~Clock() = default;
  /// Seconds since an arbitrary fixed origin; never goes back.
  [[nodiscard]] virtual double now() const = 0;
};

class SteadyClock final : public Clock {
 public:
  [[nodiscard]] double now() const override {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  }
};

}  // namespace tally::parallel
