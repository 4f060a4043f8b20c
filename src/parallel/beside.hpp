#pragma once
// Blocking work that may outlast --peer-timeout (a checkpoint write, a checkpoint or file
// load, verify's read, checks and report) runs on a helper thread while the MPI thread
// keeps its links alive; the helper never calls MPI (MPI_THREAD_FUNNELED). Where the
// helper's work needs MPI in the middle (verify's chunk replay), it hands that step to
// the MPI thread through a HandOff.
#include <exception>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <utility>

#include "parallel/backoff.hpp"

namespace tally::parallel {

/// Runs `work` on a helper thread; until it ends, this thread calls `keep_alive` between
/// short idle pauses. Returns what `work` returns, or rethrows what it threw.
template <class Work, class KeepAlive>
auto run_beside(Work&& work, KeepAlive&& keep_alive) {
  auto done = std::async(std::launch::async, std::forward<Work>(work));
  for (int round = 0; done.wait_for(std::chrono::seconds(0)) != std::future_status::ready; idle_pause(round))
    keep_alive();
  return done.get();
}

/// One step at a time that a helper thread needs done on the thread that runs it beside
/// (the MPI thread): the helper calls `hand_over` and waits; the MPI thread's keep-alive
/// calls `run_handed_over`, which runs the step there and lets the helper go on.
class HandOff {
 public:
  /// Helper thread: has the owning thread run `step`, waits until it has; rethrows what
  /// `step` threw.
  void hand_over(std::function<void()> step) {
    std::future<void> done;
    {
      const std::lock_guard guard(mutex_);
      pending_ = Pending{std::move(step), {}};
      done = pending_->finished.get_future();
    }
    done.get();
  }
  /// Owning thread: runs the step handed over, if any.
  void run_handed_over() {
    std::optional<Pending> taken;
    {
      const std::lock_guard guard(mutex_);
      taken.swap(pending_);
    }
    if (!taken) return;
    try {
      taken->step();
      taken->finished.set_value();
    } catch (...) {
      taken->finished.set_exception(std::current_exception());
    }
  }

 private:
  struct Pending {
    std::function<void()> step;
    std::promise<void> finished;
  };
  std::mutex mutex_;
  std::optional<Pending> pending_;
};

}  // namespace tally::parallel
