#pragma once
// Waiting ranks sleep between probes instead of spinning: ranks often share cores
// (oversubscribed CI, SMT siblings). 20 µs doubling to 1 ms keeps replies prompt.
#include <algorithm>
#include <chrono>
#include <thread>

namespace tally::parallel {

/// Sleeps a little longer each call; reset `round` to 0 when a message arrives.
inline void idle_pause(int& round) {
  std::this_thread::sleep_for(std::chrono::microseconds(std::min(1000, 20 << std::min(round, 6))));
  ++round;
}

}  // namespace tally::parallel
