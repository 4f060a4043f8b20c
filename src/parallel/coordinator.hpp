#pragma once
// Rank 0's loop: feeds messages, MPI failures and the clock to the Dispatcher (which
// decides), sends its replies, computes batches of its own while staying responsive,
// checkpoints when due, stops cleanly on request. Without a transport it is the whole
// threads-only run. Unit-tested with a fake transport and a fake clock
// (tests/parallel/coordinator_test.cpp).
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/kernel.hpp"
#include "io/checkpoint.hpp"
#include "io/run_record.hpp"
#include "parallel/clock.hpp"
#include "parallel/dispatcher.hpp"
#include "parallel/progress.hpp"
#include "parallel/settings.hpp"
#include "parallel/time_limit.hpp"
#include "parallel/transport.hpp"

namespace tally::parallel {

class Coordinator {
 public:
  /// `transport` is null for a threads-only run; `ranks` counts rank 0 too.
  Coordinator(const RunSettings& settings, io::RunRecord& record, const io::CheckpointStore& store,
              Transport* transport, int ranks, const Clock& clock);

  /// Runs until every chunk is done (kOk) or a stop was requested and every living
  /// worker has said goodbye (kStopped). Lost workers' batches are recomputed by others.
  [[nodiscard]] ExitCode run();
  /// Why the run stopped, e.g. "SIGUSR1 on rank 1" or "--max-seconds 30".
  [[nodiscard]] const std::string& stop_reason() const { return dispatch_.stop_reason(); }
  [[nodiscard]] const Dispatcher& dispatch() const { return dispatch_; }

 private:
  /// The message pump: takes the workers' messages and failures in, hands them to the
  /// Dispatcher, runs its deadline checks, sends its replies.
  void answer_workers();
  void answer_workers_if_due();
  void check_stop();
  void checkpoint_if_due();
  void write_checkpoint();

  const RunSettings& settings_;
  io::RunRecord& record_;
  const io::CheckpointStore& store_;
  Transport* transport_;
  int ranks_;
  const Clock& clock_;
  core::Kernel kernel_;
  Dispatcher dispatch_;
  Progress progress_;
  double start_;
  double last_checkpoint_;
  double last_answered_;
  double elapsed_before_;  // elapsed_seconds of the starts before this one
  TimeLimit time_limit_;
  std::uint64_t own_draws_ = 0;
};

}  // namespace tally::parallel
