#pragma once
// `tally verify` under a launcher: the chunk replay spread over the ranks of the job.
// Rank 0 reads and checks the file, then hands each worker a contiguous share of the
// sorted selection; every worker opens the (read-only) file itself, recomputes its share
// with OpenMP threads and sends the sums back. Rank 0 alone compares and reports, so
// the report cannot depend on the layout. Every wait is bounded (--peer-timeout): a
// worker that cannot read the file, fails or falls silent has its share recomputed by
// rank 0; a silent rank 0 makes the workers give up (docs/parallel.md).
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/kernel.hpp"
#include "core/types.hpp"
#include "io/file_locking.hpp"
#include "parallel/clock.hpp"
#include "parallel/peer_timing.hpp"
#include "parallel/peers.hpp"
#include "parallel/transport.hpp"

namespace tally::parallel {

struct ReplaySettings {
  std::filesystem::path file;  ///< every rank opens it itself
  io::FileLocking locking = io::FileLocking::kBestEffort;
  int threads = 1;            ///< OpenMP threads per rank
  double peer_timeout = 10;   ///< seconds without a word from a peer before it is given up
  [[nodiscard]] PeerTiming timing() const { return {peer_timeout}; }
  [[nodiscard]] double finalize_bound() const { return timing().finalize_bound(); }
};

/// The share [begin, end) of `n` selected chunks that rank `rank` of `ranks` replays:
/// contiguous, sizes differing by at most one, in rank order.
[[nodiscard]] std::pair<std::size_t, std::size_t> replay_share(std::size_t n, int rank, int ranks);

/// Rank 0's side. Who is alive and what rank 0 owes them is Peers' (src/parallel/peers.hpp,
/// shared with the run's Dispatcher); the shares are this class's own.
class ReplayCoordinator {
 public:
  /// `ranks` counts rank 0 too; `transport` and `clock` outlive this object.
  ReplayCoordinator(Transport& transport, const Clock& clock, int ranks, ReplaySettings settings);

  /// Sums the chunks `ids` (sorted) into `out`, over every rank; `ledger_size` (the
  /// file's chunk count) lets a worker check it opened the same file. Bit for bit what
  /// kernel.sum_chunks(ids, out, threads) gives on one process.
  void replay(const core::Kernel& kernel, std::uint64_t ledger_size, std::span<const core::ChunkId> ids,
              std::span<core::ChunkSum> out);
  /// While rank 0 reads, checks or reports (work beside this thread, outside `replay`):
  /// takes the workers' messages in and sends the heartbeats due, so that rank 0's work
  /// of any length never looks like a dead coordinator. Losses the transport reports are
  /// noted; silence is judged in `replay` only (a worker outside it owes nothing).
  void keep_alive();
  /// Tells every living worker the exit code (bounded); true when a worker was lost and
  /// MPI_Finalize could wait on it forever.
  [[nodiscard]] bool finish(int code);
  /// What happened to workers that did not do their share (for stderr).
  [[nodiscard]] const std::vector<std::string>& notes() const { return notes_; }
  [[nodiscard]] const Peers& peers() const { return peers_; }

 private:
  /// A worker's share of the selection and how much of it has come back.
  struct Share {
    std::size_t begin = 0, end = 0;
    std::size_t received = 0;  ///< sums received so far (they arrive in order)
    bool gave_up = false;      ///< said it cannot replay (kTrouble), but is alive
  };
  [[nodiscard]] bool share_done(int rank) const;
  /// The message pump: takes every waiting message (sums land at their place in `out`),
  /// gives up on workers that failed or fell silent, keeps the workers' waits alive.
  void answer_workers(std::span<core::ChunkSum> out);
  void give_up_on(int rank, const std::string& note);

  Transport& transport_;
  const Clock& clock_;
  ReplaySettings settings_;
  Peers peers_;
  std::vector<Share> shares_;  // index = rank; [0] is rank 0's own
  std::vector<std::string> notes_;
};

/// A worker's side: waits for its share (or the end), replays it, returns the exit code
/// rank 0 decided and whether to skip MPI_Finalize. Throws when rank 0 falls silent.
struct ReplayEnd {
  int code = 1;
  bool skip_finalize = false;
};
[[nodiscard]] ReplayEnd run_replay_worker(Transport& transport, const Clock& clock, const ReplaySettings& settings);

}  // namespace tally::parallel
