// The worker loop without MPI (its link to rank 0 is RankZeroLink): a fake transport
// whose rank 0 is the real Dispatcher, and a fake clock that moves on at every poll. The
// worker computes what it is given and ends on rank 0's final word; a rank 0 that falls
// silent in the middle of a multi-piece batch ends it with one Error (thrown between
// pieces inside an OpenMP region, it must come out as an ordinary exception, not
// std::terminate).
#include "parallel/worker.hpp"

#include <gtest/gtest.h>

#include <deque>

#include "core/kernel.hpp"
#include "parallel/dispatcher.hpp"
#include "parallel/protocol.hpp"
#include "fake_transport.hpp"

namespace tally::parallel {
namespace {

using testing::FakeClock;

/// Rank 0 as seen by worker rank 1: every message goes straight to a Dispatcher, its
/// replies come back on the next polls. After `silent_after` replies it says nothing more.
class DispatcherAsRankZero final : public Transport {
 public:
  DispatcherAsRankZero(Dispatcher& d, FakeClock& clock, double seconds_per_poll, int silent_after = 1 << 30)
      : dispatcher_(d), clock_(clock), seconds_per_poll_(seconds_per_poll), silent_after_(silent_after) {}

  void send(int dest, int tag, std::vector<std::uint64_t> words) override {
    EXPECT_EQ(dest, 0);
    dispatcher_.on_message(1, tag, words, clock_.now());
    for (auto& out : dispatcher_.take_outgoing()) inbox_.push_back({0, out.tag, std::move(out.words)});
    if (tag == protocol::kBye && dispatcher_.finished())
      inbox_.push_back({0, protocol::kFinal, protocol::encode(protocol::Final{0, false})});
  }
  std::optional<Message> poll(int) override {
    clock_.advance(seconds_per_poll_);
    if (inbox_.empty() || delivered_ >= silent_after_) return std::nullopt;
    ++delivered_;
    Message m = std::move(inbox_.front());
    inbox_.pop_front();
    return m;
  }
  std::vector<PeerFailure> failures() override { return {}; }
  void abandon(int) override {}
  bool drain(double) override { return true; }

 private:
  Dispatcher& dispatcher_;
  FakeClock& clock_;
  double seconds_per_poll_;
  int silent_after_;
  int delivered_ = 0;
  std::deque<Message> inbox_;
};

RunSettings settings_for(const core::Config& c) {
  RunSettings s;
  s.config = c;
  s.threads = 2;
  s.peer_timeout = 1;
  return s;
}

DispatchOptions options_for(const RunSettings& s) {
  DispatchOptions o;
  o.threads = s.threads;
  o.timing.silence = 1e9;  // the worker is under test, not rank 0's patience
  return o;
}

TEST(WorkerLoop, ComputesWhatItIsGivenAndEndsOnTheFinalWord) {
  core::Config c;
  c.tasks = 3;
  c.samples = 5000;
  c.chunk = 700;
  const RunSettings s = settings_for(c);
  FakeClock clock;
  io::RunRecord record{core::Ledger(c)};
  Dispatcher d(record, 2, options_for(s), clock.now());
  DispatcherAsRankZero rank0(d, clock, 0.001);
  const WorkerEnd end = run_worker(s, rank0, clock);
  EXPECT_EQ(end.code, ExitCode::kOk);
  ASSERT_TRUE(record.ledger.complete());  // rank 0 computed nothing: the worker did it all
  const core::Kernel kernel(c);
  for (core::ChunkId id = 0; id < record.ledger.size(); ++id) EXPECT_EQ(record.ledger.chunk(id), kernel.sum_chunk(id));
}

TEST(WorkerLoop, RankZeroSilentMidBatchIsOneErrorNotAnAbort) {
  core::Config c;
  c.tasks = 1;
  // Two chunks in 32 pieces for two threads: however the OS schedules them, thread 0
  // (which polls) computes the 4 pieces that rank 0's silence takes to be noticed long
  // before the batch ends (with 4 pieces, a loaded machine let thread 1 finish the batch).
  c.samples = std::int64_t{1} << 27;
  c.chunk = std::int64_t{1} << 26;
  const RunSettings s = settings_for(c);
  FakeClock clock;
  io::RunRecord record{core::Ledger(c)};
  Dispatcher d(record, 2, options_for(s), clock.now());
  DispatcherAsRankZero rank0(d, clock, 0.3, 2);  // both assignments arrive, then silence
  try {
    (void)run_worker(s, rank0, clock);
    FAIL() << "the worker did not give up on a silent rank 0";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kFailure);
    EXPECT_NE(std::string(e.what()).find("no message from the coordinator (rank 0)"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(record.ledger.complete());
}

}  // namespace
}  // namespace tally::parallel
