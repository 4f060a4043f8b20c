#pragma once
// The coordinator's decisions, without MPI and without a real clock: which worker gets
// which batch, whose results count, when a silent or failed worker is declared lost
// (its outstanding batches go back to the pending pool for the living ranks), when a
// stop is honoured, and when the run is over. Messages come in as (source, tag, words)
// with the time they were seen; replies go out through take_outgoing(). Who is alive
// and what rank 0 owes them is Peers' (src/parallel/peers.hpp, shared with verify's
// ReplayCoordinator); what a loss means for the run is decided here. Unit-tested with
// fake messages and a fake clock (tests/parallel/dispatcher_test.cpp).
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "io/run_record.hpp"
#include "parallel/batch.hpp"
#include "parallel/peers.hpp"
#include "parallel/protocol.hpp"
#include "parallel/scheduler.hpp"

namespace tally::parallel {

struct Outgoing {
  int dest = 0;
  protocol::Tag tag = protocol::kAssign;
  std::vector<std::uint64_t> words;
};

struct DispatchOptions {
  int threads = 1;             ///< per rank, as a batch-size multiplier (ranks are assumed alike)
  PeerTiming timing;           ///< silence after which a worker is declared lost, heartbeats
  bool histogram = false;
  std::int64_t start = 0;      ///< index of this start in the run's history (for lost ranks)
  /// Target duration of a worker's batch (Scheduler::Pacing); default: the scheduler's
  /// choice for the rank count; 0: the fixed draw cap only.
  std::optional<double> batch_seconds;
};

class Dispatcher {
 public:
  /// `record` holds the ledger (maybe resumed); `ranks` counts rank 0 too.
  Dispatcher(io::RunRecord& record, int ranks, DispatchOptions options, double now);

  /// A message seen at `now`.
  void on_message(int source, int tag, const std::vector<std::uint64_t>& words, double now);
  /// MPI reported an error for `rank`, or a message to or from it never completed.
  void on_peer_failed(int rank, const std::string& why, double now);
  /// Deadlines and heartbeats (Peers::on_time): silent workers are declared lost. Time
  /// rank 0 spent away from the loop (a long computation) is not held against them.
  void on_time(double now);
  /// Stop handing out work: replies become "stop now"; the run ends once the living
  /// workers have said goodbye.
  void stop(const std::string& reason);

  /// Rank 0's own next batch (nullopt when stopping or nothing is pending).
  [[nodiscard]] std::optional<Batch> next_own_batch(std::uint64_t max_draws);
  /// Records rank 0's own results.
  void absorb_own(const BatchResult& result);
  /// Rank 0 abandoned its own batch (a stop): its chunks go back to the pending pool.
  void abandon_own(const Batch& batch) { scheduler_.give_back(batch); }

  /// Every chunk done or stopping, and every living worker has said goodbye.
  [[nodiscard]] bool finished() const;
  [[nodiscard]] bool stopping() const { return stopping_; }
  [[nodiscard]] const std::string& stop_reason() const { return stop_reason_; }
  [[nodiscard]] bool any_lost() const { return !record_.lost.empty(); }
  [[nodiscard]] bool lost(int rank) const { return peers_.lost(rank); }
  [[nodiscard]] std::uint64_t done_draws() const { return done_draws_; }
  /// Who is alive and what rank 0 owes them (heartbeats while it writes, the final word).
  [[nodiscard]] const Peers& peers() const { return peers_; }
  [[nodiscard]] Peers& peers() { return peers_; }

  [[nodiscard]] std::vector<Outgoing> take_outgoing() { return std::exchange(outgoing_, {}); }

 private:
  void handle_results(int source, const std::vector<std::uint64_t>& words, double now);
  void absorb(const BatchResult& result);
  void reply(int worker, double now);
  void declare_lost(int rank, const std::string& why, double now);
  void send(int dest, protocol::Tag tag, std::vector<std::uint64_t> words, double now);

  io::RunRecord& record_;
  DispatchOptions options_;
  Scheduler scheduler_;
  Peers peers_;
  std::vector<std::deque<Batch>> outstanding_;  // per rank: assigned, results not yet in, oldest first
  std::vector<Outgoing> outgoing_;
  double start_;
  bool stopping_ = false;
  std::string stop_reason_;
  std::uint64_t span_ = 0;
  std::uint64_t done_draws_ = 0;
};

}  // namespace tally::parallel
