#include "parallel/worker.hpp"

#include <deque>

#include "core/kernel.hpp"
#include "parallel/backoff.hpp"
#include "parallel/batch.hpp"
#include "parallel/protocol.hpp"
#include "parallel/rank_zero_link.hpp"
#include "parallel/signals.hpp"

namespace tally::parallel {

namespace {
constexpr int kRequestsInFlight = 2;  // one batch computing, one already on its way

}  // namespace

WorkerEnd run_worker(const RunSettings& settings, Transport& transport, const Clock& clock) {
  const core::Kernel kernel(settings.config);
  RankZeroLink link(transport, clock, settings.timing(), false);
  std::deque<Batch> queue;
  io::RankTiming timing;
  std::uint64_t draws = 0;
  int in_flight = 0;
  bool stop_now = false;
  bool told_stop = false;

  auto request = [&](const BatchResult& done) {
    link.send(protocol::kResult, protocol::encode(done));
    ++in_flight;
  };
  auto take = [&](const Message& m) {
    if (m.tag != protocol::kAssign)
      throw Error(ExitCode::kFailure, "unexpected message tag " + std::to_string(m.tag) + " from the coordinator");
    if (in_flight == 0) throw Error(ExitCode::kFailure, "an assignment from the coordinator that was not asked for");
    --in_flight;
    const auto assign = protocol::decode_assign(m.words);
    if (assign.batch.count > 0 && !stop_now) queue.push_back(assign.batch);
    if (assign.reason == protocol::NoWork::kStopNow) stop_now = true;
    if (stop_now) queue.clear();  // undone chunks stay pending in the checkpoint
  };
  auto check_signal = [&] {
    if (int s = stop_signal(); s != 0 && !told_stop) {
      link.send(protocol::kStopReq, {std::uint64_t(s)});
      told_stop = true;
      stop_now = true;
      queue.clear();
    }
  };
  // Between pieces of a batch: heartbeats, replies taken as they come, rank 0's
  // silence noticed, and a stop (a signal here or "stop now" from rank 0) abandons the
  // batch within one piece: its chunks stay pending in rank 0's checkpoint.
  const core::Kernel::BetweenPieces between = [&] {
    link.heartbeat_if_due();
    while (auto m = link.poll()) take(*m);
    check_signal();
    return !stop_now;
  };

  for (int i = 0; i < kRequestsInFlight; ++i) request(BatchResult{});
  for (;;) {
    check_signal();
    while (in_flight > 0) {
      auto m = link.poll();
      if (!m) break;
      take(*m);
    }
    if (queue.empty()) {
      if (in_flight == 0) break;
      take(link.wait());
      continue;
    }
    const Batch batch = queue.front();
    queue.pop_front();
    const auto result = compute_batch(kernel, batch, settings.threads, settings.histogram, between);
    check_signal();
    if (stop_now) queue.clear();
    if (!result) continue;  // abandoned by a stop: nothing to report
    timing.busy_seconds += result->busy_seconds;
    timing.chunks += std::int64_t(batch.count);
    draws += result->draws;
    request(*result);  // reports the sums and asks for one more batch
  }
  // The loop ends once every request is answered: kNoMore and kStopNow both end the supply.
  link.send(protocol::kBye, protocol::encode(timing, draws));
  link.said_all();
  const Message final_message = link.wait();
  if (final_message.tag != protocol::kFinal)
    throw Error(ExitCode::kFailure, "unexpected message tag " + std::to_string(final_message.tag) + " from the coordinator");
  const auto final_word = protocol::decode_final(final_message.words);
  return {ExitCode(final_word.code), final_word.skip_finalize};
}

}  // namespace tally::parallel
