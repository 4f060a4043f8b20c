#include "parallel/rank_zero_link.hpp"

#include <fmt/core.h>

#include "core/error.hpp"
#include "parallel/backoff.hpp"
#include "parallel/protocol.hpp"

namespace tally::parallel {

RankZeroLink::RankZeroLink(Transport& transport, const Clock& clock, PeerTiming timing, bool rank_zero_loading)
    : transport_(transport),
      clock_(clock),
      timing_(timing),
      allowed_(rank_zero_loading ? timing.startup_allowance() : timing.silence),
      last_heard_(clock.now()),
      last_told_(last_heard_) {}

void RankZeroLink::send(int tag, std::vector<std::uint64_t> words) {
  transport_.send(0, tag, std::move(words));
  last_told_ = clock_.now();
}

std::optional<Message> RankZeroLink::poll() {
  for (const auto& f : transport_.failures())
    throw Error(ExitCode::kFailure, fmt::format("lost the coordinator (rank 0): {}; giving up", f.why));
  while (auto m = transport_.poll(0)) {
    last_heard_ = clock_.now();
    allowed_ = timing_.silence;  // rank 0 has spoken: the start-up allowance is over
    if (m->tag != protocol::kHeartbeat) return m;
  }
  if (const double silent = clock_.now() - last_heard_; silent > allowed_)
    throw Error(ExitCode::kFailure,
                fmt::format("no message from the coordinator (rank 0) for {} s; giving up", int(silent)));
  return std::nullopt;
}

Message RankZeroLink::wait() {
  for (int round = 0;; idle_pause(round)) {
    if (auto m = poll()) return *m;
    heartbeat_if_due();
  }
}

void RankZeroLink::heartbeat_if_due() {
  if (!said_all_ && clock_.now() - last_told_ >= timing_.heartbeat()) send(protocol::kHeartbeat, {});
}

}  // namespace tally::parallel
