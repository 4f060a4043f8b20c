#pragma once
// Rank 0's view of its workers, one component for run and verify alike: who is alive and
// what rank 0 owes them. Per worker: when it was last heard from and last told anything,
// whether it has spoken yet (until then the start-up allowance may apply), whether it
// said goodbye (owes nothing more, still gets heartbeats and the final word) or is lost
// (never waited on again and gets no heartbeats or final word from here; the run's
// Dispatcher still answers a lost worker that speaks with "stop now"). Bookkeeping on a clock's seconds only: the
// coordinators send what it says is due through their Transport. The timing rules are
// PeerTiming's (docs/fault-tolerance.md, "Timing rules").
#include <vector>

#include "parallel/beside.hpp"
#include "parallel/clock.hpp"
#include "parallel/peer_timing.hpp"
#include "parallel/protocol.hpp"
#include "parallel/transport.hpp"

namespace tally::parallel {

/// A worker that fell silent past the rule, and for how long.
struct SilentPeer {
  int rank = 0;
  double seconds = 0;
};

class Peers {
 public:
  /// Workers 1 … ranks-1 (rank 0 is this process), counted as heard from and told at
  /// `now`. With `allowance_until_heard`, a worker may stay silent for the start-up
  /// allowance until its first word (verify: it opens the file before it speaks);
  /// without, the silence rule holds from `now` (run: the workers spoke at start-up).
  Peers(int ranks, PeerTiming timing, double now, bool allowance_until_heard = false);

  /// A message from `rank` arrived at `now`.
  void heard(int rank, double now);
  /// A message to `rank` left at `now`.
  void told(int rank, double now);
  /// `rank` owes nothing more: its silence no longer counts (it still gets heartbeats
  /// and the final word).
  void said_goodbye(int rank) { at(rank).said_goodbye = true; }
  /// `rank` is expected to speak again (verify hands it a new share).
  void expect(int rank) { at(rank).said_goodbye = false; }
  /// Gives up on `rank`; false when it was lost already or had said goodbye.
  bool declare_lost(int rank);

  /// Deadline checks at `now`: the workers silent past the rule (the caller declares
  /// them lost, with its own consequences), and the heartbeats due (counted as told).
  /// Time rank 0 itself spent away from these checks (computing, writing), beyond two
  /// heartbeat intervals, is not held against anyone. Scans at most every twentieth of
  /// a heartbeat (1 ms per scan at 10^5 workers: bench/coordinator_bench.cpp).
  struct Due {
    std::vector<SilentPeer> silent;
    std::vector<int> heartbeats;
  };
  [[nodiscard]] Due on_time(double now);
  /// Heartbeats due at `now` to living workers told nothing for a heartbeat interval
  /// (counted as told), without the silence checks: while rank 0 is busy beside.
  [[nodiscard]] std::vector<int> heartbeats_due(double now);

  [[nodiscard]] int ranks() const { return int(peers_.size()); }
  [[nodiscard]] bool lost(int rank) const { return at(rank).lost; }
  [[nodiscard]] bool heard_from(int rank) const { return at(rank).heard; }
  [[nodiscard]] bool has_said_goodbye(int rank) const { return at(rank).said_goodbye; }
  [[nodiscard]] double last_heard(int rank) const { return at(rank).last_heard; }
  [[nodiscard]] bool any_lost() const;
  /// Every worker said goodbye or is lost.
  [[nodiscard]] bool all_accounted_for() const;
  /// Workers not lost (they get heartbeats and the final word).
  [[nodiscard]] std::vector<int> living() const;
  [[nodiscard]] const PeerTiming& timing() const { return timing_; }

 private:
  struct Peer {
    double last_heard = 0;
    double last_told = 0;
    bool heard = false;         // has sent anything at all
    bool said_goodbye = false;
    bool lost = false;
  };
  [[nodiscard]] Peer& at(int rank);
  [[nodiscard]] const Peer& at(int rank) const;

  PeerTiming timing_;
  bool allowance_until_heard_;
  std::vector<Peer> peers_;  // index = rank; [0] is rank 0 itself, never checked
  double last_on_time_;
};

/// Sends every heartbeat due at `now` (Peers::heartbeats_due) through `transport`.
void send_heartbeats(Transport& transport, Peers& peers, double now);

/// Tells every living worker how to end, and waits at most `bound` seconds until they
/// have it (a worker that cannot take it is gone: nothing to wait for).
void send_final_word(Transport& transport, const Peers& peers, protocol::Final final_word, double bound);

/// Blocking work on rank 0 (a checkpoint load or write): runs `work` on a helper thread
/// (run_beside) while this thread tells the living workers that rank 0 is alive at the
/// heartbeat interval and calls `also` (e.g. takes messages in), so that work of any
/// length never looks like a dead coordinator. Returns what `work` returns.
template <class Work, class Also>
auto run_beside_peers(Work&& work, Transport& transport, Peers& peers, const Clock& clock, Also&& also) {
  return run_beside(std::forward<Work>(work), [&] {
    send_heartbeats(transport, peers, clock.now());
    also();
  });
}

}  // namespace tally::parallel
