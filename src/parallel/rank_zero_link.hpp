#pragma once
// A worker's one link to rank 0, for run and verify alike: messages out (each counts as
// telling rank 0 it is alive), heartbeats when nothing else went out for an interval,
// rank 0's messages in (its heartbeats only keep the link alive), and the one rule for
// giving up on rank 0: an MPI failure, or silence past the rule (PeerTiming: the start-up
// allowance until rank 0's first word when it may be loading, then --peer-timeout).
// Giving up throws one Error ("… the coordinator (rank 0) …; giving up", exit 1).
#include <cstdint>
#include <optional>
#include <vector>

#include "parallel/clock.hpp"
#include "parallel/peer_timing.hpp"
#include "parallel/transport.hpp"

namespace tally::parallel {

class RankZeroLink {
 public:
  /// `rank_zero_loading`: rank 0 may be loading a checkpoint or a file before its first
  /// word, so its silence may last the start-up allowance until then.
  RankZeroLink(Transport& transport, const Clock& clock, PeerTiming timing, bool rank_zero_loading);

  void send(int tag, std::vector<std::uint64_t> words);
  /// The next message from rank 0 other than a heartbeat, if one is waiting. Throws when
  /// rank 0 failed or fell silent past the rule.
  [[nodiscard]] std::optional<Message> poll();
  /// Waits for the next message from rank 0 other than a heartbeat, sending heartbeats.
  [[nodiscard]] Message wait();
  /// Sends a heartbeat if nothing went to rank 0 for a heartbeat interval, until
  /// said_all().
  void heartbeat_if_due();
  /// This side has sent its last message (goodbye, or its whole share): rank 0 judges it
  /// by nothing more, so no heartbeats follow. One still in flight when rank 0 reaches
  /// MPI_Finalize would be an unmatched message there, which UCX reports on stdout.
  void said_all() { said_all_ = true; }
  /// Waits (at most `seconds`) until every message sent has left.
  void drain(double seconds) { (void)transport_.drain(seconds); }

 private:
  Transport& transport_;
  const Clock& clock_;
  PeerTiming timing_;
  double allowed_;  // seconds rank 0 may be silent now
  double last_heard_, last_told_;
  bool said_all_ = false;
};

}  // namespace tally::parallel
