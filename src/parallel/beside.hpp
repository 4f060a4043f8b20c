#pragma once
// Blocking work that may outlast --peer-timeout (a checkpoint write, a checkpoint or file
// load) runs on a helper thread while the MPI thread keeps its links alive; the helper
// never calls MPI (MPI_THREAD_FUNNELED).
#include <future>
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

}  // namespace tally::parallel
