// Verify's coordinator under a launcher, without MPI: a fake transport whose workers are
// simulated by the test, and a fake clock. Whoever replays a chunk, the sums are those
// of one process; a worker that falls silent or fails has its share (the part it did not
// deliver) recomputed by rank 0, with one note; the final word goes to the living only
// and its wait is bounded.
#include "parallel/replay.hpp"

#include <gtest/gtest.h>

#include <map>
#include <numeric>
#include <optional>

#include "fake_transport.hpp"
#include "parallel/protocol.hpp"

namespace tally::parallel {
namespace {

using testing::FakeClock;
using testing::FakeTransport;

enum class Behaviour { kHealthy, kSilentAfterFirstChunk, kFails, kTroubleThenWrongSums };

struct ReplayCase {
  core::Config config;
  std::vector<core::ChunkId> ids;
  std::vector<core::ChunkSum> expected;
};

ReplayCase make_case() {
  ReplayCase c;
  c.config.tasks = 2;
  c.config.samples = 30000;
  c.config.chunk = 1000;  // 60 chunks
  const core::Ledger ledger(c.config);
  c.ids.resize(ledger.size());
  std::iota(c.ids.begin(), c.ids.end(), core::ChunkId{0});
  c.expected.resize(c.ids.size());
  (void)core::Kernel(c.config).sum_chunks(c.ids, c.expected, 1);
  return c;
}

/// Workers simulated on the transport: each answers its share as `behaviour` says.
void simulate_workers(FakeTransport& transport, const core::Kernel& kernel, std::map<int, Behaviour> behaviour) {
  transport.on_send = [&transport, &kernel, behaviour](const testing::Sent& m) {
    if (m.tag != protocol::kShare) return;
    std::size_t at = 1;
    const auto ids = protocol::decode_runs(m.words, at, m.words.at(0));
    ASSERT_TRUE(ids.has_value());
    const Behaviour b = behaviour.at(m.dest);
    if (b == Behaviour::kFails) return transport.fail(m.dest, "MPI error sending to it");
    if (b == Behaviour::kTroubleThenWrongSums) {  // says it cannot replay, then sends sums all the same
      transport.deliver(m.dest, protocol::kTrouble, protocol::encode_text("cannot open it"));
      std::vector<std::uint64_t> words{0, ids->size()};
      for (std::size_t i = 0; i < ids->size(); ++i) words.insert(words.end(), {1, 0, 0});
      return transport.deliver(m.dest, protocol::kSums, std::move(words));
    }
    const std::size_t count = b == Behaviour::kSilentAfterFirstChunk ? std::min<std::size_t>(1, ids->size()) : ids->size();
    std::vector<core::ChunkSum> sums(count);
    (void)kernel.sum_chunks(std::span(*ids).first(count), sums, 1);
    std::vector<std::uint64_t> words{0, count};
    for (const auto& x : sums) {
      words.push_back(std::uint64_t(core::u128(x.sum)));
      words.push_back(std::uint64_t(core::u128(x.sum) >> 64));
      words.push_back(x.missing);
    }
    transport.deliver(m.dest, protocol::kSums, std::move(words));
  };
}

ReplaySettings settings() {
  ReplaySettings s;
  s.peer_timeout = 1;
  return s;
}

/// One replay over rank 0 and workers behaving as `behaviour` says (ranks 1 …).
class ReplayOverWorkers : public ::testing::Test {
 protected:
  ReplayCoordinator& replay(std::map<int, Behaviour> behaviour) {
    simulate_workers(transport, kernel, behaviour);
    coordinator.emplace(transport, clock, int(behaviour.size()) + 1, settings());
    out.assign(c.ids.size(), {});
    coordinator->replay(kernel, c.ids.size(), c.ids, out);
    return *coordinator;
  }
  [[nodiscard]] std::size_t finals_to(int rank) const { return transport.sent_to(rank, protocol::kFinal).size(); }

  const ReplayCase c = make_case();
  const core::Kernel kernel{c.config};
  FakeClock clock;
  FakeTransport transport{clock, 0.01};
  std::optional<ReplayCoordinator> coordinator;
  std::vector<core::ChunkSum> out;
};

TEST_F(ReplayOverWorkers, WorkersShareTheReplayAndHearTheFinalWordBounded) {
  auto& rank0 = replay({{1, Behaviour::kHealthy}, {2, Behaviour::kHealthy}});
  EXPECT_EQ(out, c.expected);
  EXPECT_TRUE(rank0.notes().empty());
  transport.drain_completes = false;  // nobody takes it: the wait is still bounded
  EXPECT_FALSE(rank0.finish(0));
  EXPECT_EQ(finals_to(1), 1u);
  EXPECT_EQ(finals_to(2), 1u);
  EXPECT_EQ(transport.drains, (std::vector<double>{1.0}));
}

TEST_F(ReplayOverWorkers, SilentWorkersShareIsRecomputedByRankZero) {
  auto& rank0 = replay({{1, Behaviour::kSilentAfterFirstChunk}, {2, Behaviour::kHealthy}});
  EXPECT_EQ(out, c.expected);
  ASSERT_EQ(rank0.notes().size(), 1u);
  EXPECT_EQ(rank0.notes()[0], "rank 1 was silent for 1 s; rank 0 replayed its share");
  EXPECT_TRUE(rank0.peers().lost(1));
  EXPECT_EQ(transport.abandoned, (std::vector<int>{1}));
  EXPECT_TRUE(rank0.finish(0));  // a worker was lost: skip MPI_Finalize
  EXPECT_EQ(finals_to(1), 0u);
  ASSERT_EQ(finals_to(2), 1u);
  EXPECT_TRUE(protocol::decode_final(transport.sent_to(2, protocol::kFinal)[0].words).skip_finalize);
}

TEST_F(ReplayOverWorkers, FailedWorkersShareIsRecomputedByRankZero) {
  auto& rank0 = replay({{1, Behaviour::kHealthy}, {2, Behaviour::kFails}});
  EXPECT_EQ(out, c.expected);
  ASSERT_EQ(rank0.notes().size(), 1u);
  EXPECT_EQ(rank0.notes()[0], "rank 2 was lost (MPI error sending to it); rank 0 replayed its share");
  EXPECT_TRUE(rank0.finish(0));
  EXPECT_EQ(finals_to(2), 0u);
  EXPECT_EQ(finals_to(1), 1u);
}

TEST_F(ReplayOverWorkers, SumsFromAWorkerThatGaveUpItsShareAreIgnored) {
  // Rank 0 replays that share itself: the worker's late sums must never land in the report.
  auto& rank0 = replay({{1, Behaviour::kHealthy}, {2, Behaviour::kTroubleThenWrongSums}});
  EXPECT_EQ(out, c.expected);
  ASSERT_EQ(rank0.notes().size(), 1u);
  EXPECT_EQ(rank0.notes()[0], "rank 2 could not replay its share (cannot open it); rank 0 replayed it");
}

TEST(ReplayCoordinator, KeepAliveHeartbeatsWhileRankZeroIsBusyAndNotesALoss) {
  // Rank 0 reads, checks and reports beside its MPI thread, which calls keep_alive: the
  // workers hear from it at the heartbeat interval however long that takes, and a worker
  // lost meanwhile has its share replayed by rank 0.
  const auto c = make_case();
  const core::Kernel kernel(c.config);
  FakeClock clock;
  FakeTransport transport(clock, 0.01);
  simulate_workers(transport, kernel, {{1, Behaviour::kHealthy}, {2, Behaviour::kHealthy}});
  ReplayCoordinator coordinator(transport, clock, 3, settings());
  const double start = clock.now();
  while (clock.now() - start < 300) {  // longer than the start-up allowance
    if (clock.now() - start > 200 && clock.now() - start < 200.1) transport.fail(2, "MPI error");
    coordinator.keep_alive();
    clock.advance(0.05);
  }
  EXPECT_LE(transport.longest_gap_to(1, start), settings().timing().heartbeat() + 0.1);
  EXPECT_TRUE(coordinator.peers().lost(2));
  EXPECT_FALSE(coordinator.peers().lost(1));
  std::vector<core::ChunkSum> out(c.ids.size());
  coordinator.replay(kernel, c.ids.size(), c.ids, out);
  EXPECT_EQ(out, c.expected);
  EXPECT_TRUE(transport.sent_to(2, protocol::kShare).empty());
  ASSERT_EQ(coordinator.notes().size(), 1u);
  EXPECT_EQ(coordinator.notes()[0], "rank 2 was lost (MPI error)");
}

TEST(ReplayCoordinator, AWorkerThatNeverSpeaksHasTheStartUpAllowance) {
  // A large launch may start a worker well after rank 0: before its first word it is
  // given up only after the start-up allowance (120 s), not --peer-timeout.
  const auto c = make_case();
  const core::Kernel kernel(c.config);
  FakeClock clock;
  FakeTransport transport(clock, 0.5);
  ReplayCoordinator coordinator(transport, clock, 2, settings());
  const double start = clock.now();
  std::vector<core::ChunkSum> out(c.ids.size());
  coordinator.replay(kernel, c.ids.size(), c.ids, out);
  EXPECT_EQ(out, c.expected);
  EXPECT_GE(clock.now() - start, settings().timing().startup_allowance());
  ASSERT_EQ(coordinator.notes().size(), 1u);
  EXPECT_NE(coordinator.notes()[0].find("rank 1 was silent for 12"), std::string::npos) << coordinator.notes()[0];
  EXPECT_LE(transport.longest_gap_to(1, start), settings().timing().heartbeat() + 0.5);
}

}  // namespace
}  // namespace tally::parallel
