#pragma once
// Rank 0's loop: owns the ledger, hands out batches to workers on request, computes
// batches of its own between messages, checkpoints when due, stops cleanly on request.
// With no communicator it is the whole threads-only run.
#include <mpi.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "core/kernel.hpp"
#include "io/checkpoint.hpp"
#include "io/run_record.hpp"
#include "parallel/batch.hpp"
#include "parallel/progress.hpp"
#include "parallel/run.hpp"
#include "parallel/scheduler.hpp"

namespace tally::parallel {

class Coordinator {
 public:
  /// `comm` is MPI_COMM_NULL for a threads-only run; `ranks` counts rank 0 too.
  Coordinator(const RunSettings& settings, io::RunRecord& record, const io::CheckpointStore& store, MPI_Comm comm,
              int ranks);

  /// Runs until every chunk is done (kOk) or a stop was requested and every worker has
  /// said goodbye (kStopped). Throws when a peer stays silent past the timeout.
  [[nodiscard]] ExitCode run();
  /// Why the run stopped, e.g. "SIGUSR1 on rank 1" or "--max-seconds 30".
  [[nodiscard]] const std::string& stop_reason() const { return stop_reason_; }

 private:
  using Clock = std::chrono::steady_clock;
  [[nodiscard]] bool serve_one();
  void handle_results(int source, const std::vector<std::uint64_t>& words);
  void absorb(const BatchResult& result);
  void reply(int worker);
  void check_stop();
  void checkpoint_if_due();
  [[nodiscard]] std::uint64_t done_draws() const;
  /// Threads per rank, as a batch-size multiplier (workers are assumed alike).
  [[nodiscard]] std::uint64_t threads() const { return std::uint64_t(std::max(settings_.threads, 1)); }
  void wait_a_little(int& idle_rounds);

  const RunSettings& settings_;
  io::RunRecord& record_;
  const io::CheckpointStore& store_;
  MPI_Comm comm_;
  int ranks_;
  core::Kernel kernel_;
  Scheduler scheduler_;
  Progress progress_;
  Clock::time_point start_;
  Clock::time_point last_checkpoint_;
  Clock::time_point last_message_;
  bool stopping_ = false;
  std::string stop_reason_;
  std::vector<bool> said_bye_;
  int byes_ = 0;
  std::uint64_t own_draws_ = 0;
  std::uint64_t span_ = 0;  // histogram row length
  std::uint64_t done_draws_ = 0;
};

}  // namespace tally::parallel
