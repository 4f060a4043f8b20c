#include "parallel/worker.hpp"

#include <chrono>
#include <deque>

#include "core/kernel.hpp"
#include "parallel/mpi.hpp"
#include "parallel/backoff.hpp"
#include "parallel/batch.hpp"
#include "parallel/protocol.hpp"
#include "parallel/signals.hpp"

namespace tally::parallel {

namespace {
using Clock = std::chrono::steady_clock;
constexpr int kRequestsInFlight = 2;  // one batch computing, one already on its way

/// Waits for a message from rank 0 with `tag`, sleeping between probes (ranks often
/// share cores), giving up after `timeout` seconds: rank 0 is gone or stuck.
std::vector<std::uint64_t> wait_for(int tag, MPI_Comm comm, double timeout) {
  const auto start = Clock::now();
  MPI_Status status;
  for (int round = 0; !mpi::probe(0, tag, comm, status);) {
    idle_pause(round);
    if (std::chrono::duration<double>(Clock::now() - start).count() > timeout)
      throw Error(ExitCode::kFailure, "no message from the coordinator (rank 0); giving up");
  }
  return mpi::receive(status, comm);
}
}  // namespace

ExitCode run_worker(const RunSettings& settings, MPI_Comm comm) {
  const core::Kernel kernel(settings.config);
  std::deque<Batch> queue;
  io::RankTiming timing;
  std::uint64_t draws = 0;
  int in_flight = 0;
  bool stop_now = false;
  bool told_stop = false;

  auto request = [&](const BatchResult& done) {
    mpi::send(protocol::encode(done), 0, mpi::kResult, comm);
    ++in_flight;
  };
  auto take = [&](const std::vector<std::uint64_t>& words) {
    --in_flight;
    const auto assign = protocol::decode_assign(words);
    if (assign.batch.count > 0 && !stop_now) queue.push_back(assign.batch);
    if (assign.reason == protocol::NoWork::kStopNow) stop_now = true;
    if (stop_now) queue.clear();  // undone chunks stay pending in the checkpoint
  };

  for (int i = 0; i < kRequestsInFlight; ++i) request(BatchResult{});
  for (;;) {
    if (int s = stop_signal(); s != 0 && !told_stop) {
      mpi::send(std::vector<std::uint64_t>{std::uint64_t(s)}, 0, mpi::kStopReq, comm);
      told_stop = true;
      stop_now = true;
      queue.clear();
    }
    MPI_Status status;
    while (in_flight > 0 && mpi::probe(0, mpi::kAssign, comm, status)) take(mpi::receive(status, comm));
    if (queue.empty()) {
      if (in_flight == 0) break;
      take(wait_for(mpi::kAssign, comm, settings.peer_timeout));
      continue;
    }
    const Batch batch = queue.front();
    queue.pop_front();
    const BatchResult result = compute_batch(kernel, batch, settings.threads, settings.histogram);
    timing.busy_seconds += result.busy_seconds;
    timing.chunks += std::int64_t(batch.count);
    draws += result.draws;
    request(result);  // reports the sums and asks for one more batch
  }
  // The loop ends once every request is answered: kNoMore and kStopNow both end the supply.
  mpi::send(protocol::encode(timing, draws), 0, mpi::kBye, comm);
  const auto final_words = wait_for(mpi::kFinal, comm, settings.peer_timeout);
  return final_words.empty() ? ExitCode::kFailure : ExitCode(int(final_words[0]));
}

}  // namespace tally::parallel
