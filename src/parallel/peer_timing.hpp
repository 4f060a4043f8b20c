#pragma once
// The peer layer's timing rules, written once for run and verify, on rank 0 and on the
// workers alike (docs/fault-tolerance.md, "Timing rules").
#include <algorithm>

namespace tally::parallel {

struct PeerTiming {
  /// --peer-timeout: seconds without any message after which a peer is given up.
  double silence = 10;

  /// Every side sends a message at least this often while it is busy or waiting.
  [[nodiscard]] double heartbeat() const { return std::min(1.0, silence / 5); }
  /// Before a peer's first message: rank 0 may be loading a checkpoint or a file, a
  /// worker reading one.
  [[nodiscard]] double startup_allowance() const { return std::max(silence, 120.0); }
  /// Seconds MPI_Finalize may take once a rank is done before it leaves without it
  /// (a peer is dead or stopped).
  [[nodiscard]] double finalize_bound() const { return silence + 30; }
  /// Seconds a message of `bytes` may take to go through once it has started: apart
  /// from the silence rule, so a large transfer on a slow link is not taken for a
  /// silent peer, and a peer whose transfer stalls is still found. Liveness during a
  /// transfer comes from the heartbeats, which overtake it (MpiTransport).
  [[nodiscard]] double transfer(double bytes) const { return silence + bytes / kSlowestLinkBytesPerSecond; }

  static constexpr double kSlowestLinkBytesPerSecond = 10e6;
};

}  // namespace tally::parallel
