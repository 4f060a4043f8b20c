#pragma once
// The coordinator's decisions, without MPI and without a real clock: which worker gets
// which batch, whose results count, when a silent or failed worker is declared lost
// (its outstanding batches go back to the pending pool for the living ranks), when a
// stop is honoured, and when the run is over. Messages come in as (source, tag, words)
// with the time they were seen; replies go out through take_outgoing(). Unit-tested
// with fake messages and a fake clock (tests/parallel/dispatcher_test.cpp).
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "io/run_record.hpp"
#include "parallel/batch.hpp"
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
  double peer_timeout = 10;    ///< silence after which a worker is declared lost
  double heartbeat = 1;        ///< rank 0 tells waiting workers it is alive this often
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
  /// Deadlines and heartbeats. Time rank 0 spent away from the loop (a long checkpoint
  /// write) is not held against the workers.
  void tick(double now);
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
  [[nodiscard]] bool lost(int rank) const { return workers_[std::size_t(rank)].lost; }
  [[nodiscard]] std::uint64_t done_draws() const { return done_draws_; }
  /// Living workers that have not said goodbye (they get the final word).
  [[nodiscard]] std::vector<int> living_workers() const;

  [[nodiscard]] std::vector<Outgoing> take_outgoing() { return std::exchange(outgoing_, {}); }

 private:
  struct Worker {
    double last_heard = 0;
    double last_told = 0;           // last message we sent it
    std::deque<Batch> outstanding;  // assigned, results not yet in, oldest first
    bool said_bye = false;
    bool lost = false;
    bool started = false;           // has sent anything at all
  };
  void handle_results(int source, const std::vector<std::uint64_t>& words, double now);
  void absorb(const BatchResult& result);
  void reply(int worker, double now);
  void declare_lost(int rank, const std::string& why, double now);
  void send(int dest, protocol::Tag tag, std::vector<std::uint64_t> words, double now);

  io::RunRecord& record_;
  DispatchOptions options_;
  Scheduler scheduler_;
  std::vector<Worker> workers_;  // index = rank; [0] unused
  std::vector<Outgoing> outgoing_;
  double start_;
  double last_tick_;
  bool stopping_ = false;
  std::string stop_reason_;
  std::uint64_t span_ = 0;
  std::uint64_t done_draws_ = 0;
};

}  // namespace tally::parallel
