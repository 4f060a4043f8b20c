// Rank 0's one view of its workers (Peers), shared by run and verify: the silence rule
// with and without the start-up allowance, heartbeats at the interval to the living
// only, rank 0's own absence not held against anyone, goodbyes, the final word to the
// living within its bound, and heartbeats while rank 0 is busy loading (run_beside_peers,
// what run_mpi does while it loads a checkpoint) for longer than the silence.
#include "parallel/peers.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "fake_transport.hpp"

namespace tally::parallel {
namespace {

using testing::FakeClock;
using testing::FakeTransport;

std::vector<int> silent_ranks(const Peers::Due& due) {
  std::vector<int> out;
  for (const auto& s : due.silent) out.push_back(s.rank);
  return out;
}

/// Deadline checks every 0.1 s from `from` to `to` (rank 0 attentive): all that was due.
Peers::Due checks_until(Peers& peers, double from, double to) {
  Peers::Due all;
  for (int step = 1; from + 0.1 * step <= to + 1e-9; ++step) {
    auto due = peers.on_time(from + 0.1 * step);
    for (auto& s : due.silent)
      if (std::none_of(all.silent.begin(), all.silent.end(), [&](const SilentPeer& x) { return x.rank == s.rank; }))
        all.silent.push_back(s);
    for (int rank : due.heartbeats) all.heartbeats.push_back(rank);
  }
  return all;
}

TEST(Peers, SilentPastTheRuleAndHeartbeatsAtTheInterval) {
  const PeerTiming timing{5};  // heartbeat 1 s
  Peers peers(3, timing, 0.0);
  EXPECT_EQ(peers.living(), (std::vector<int>{1, 2}));
  auto due = peers.on_time(0.5);
  EXPECT_TRUE(due.silent.empty());
  EXPECT_TRUE(due.heartbeats.empty());
  due = peers.on_time(1.0);
  EXPECT_EQ(due.heartbeats, (std::vector<int>{1, 2}));
  peers.told(1, 1.5);
  peers.heard(2, 1.5);
  due = peers.on_time(2.0);
  EXPECT_EQ(due.heartbeats, (std::vector<int>{2}));  // rank 1 was told something at 1.5
  double now = 2.0;
  for (; now < 5.0; now += 0.1) EXPECT_TRUE(peers.on_time(now).silent.empty());
  due = peers.on_time(5.2);  // rank 1 silent since 0, rank 2 since 1.5
  EXPECT_EQ(silent_ranks(due), (std::vector<int>{1}));
  EXPECT_EQ(due.silent[0].seconds, 5.2);
  // No heartbeat for a rank about to be declared lost.
  for (int rank : due.heartbeats) EXPECT_NE(rank, 1);
  EXPECT_TRUE(peers.declare_lost(1));
  EXPECT_FALSE(peers.declare_lost(1));
  EXPECT_TRUE(peers.any_lost());
  EXPECT_EQ(peers.living(), (std::vector<int>{2}));
  for (now = 5.3; now < 20; now += 0.1)
    for (int rank : peers.on_time(now).heartbeats) EXPECT_NE(rank, 1);  // never told anything again
}

TEST(Peers, StartUpAllowanceUntilTheFirstWord) {
  const PeerTiming timing{2};
  Peers peers(3, timing, 0.0, true);
  peers.heard(2, 1.0);
  std::vector<int> silent;
  for (double now = 0.1; now < 130 && silent.empty(); now += 0.1) silent = silent_ranks(peers.on_time(now));
  EXPECT_EQ(silent, (std::vector<int>{2}));  // heard once: the silence rule (2 s) from then
  EXPECT_FALSE(peers.heard_from(1));
  for (double now = 3.1; now < 119.9; now += 0.1) {
    peers.heard(2, now);
    EXPECT_TRUE(peers.on_time(now).silent.empty()) << now;  // rank 1 may open its file for 120 s
  }
  EXPECT_EQ(silent_ranks(peers.on_time(120.2)), (std::vector<int>{1}));
  // Without the allowance (run: every worker spoke at start-up) the rule holds at once.
  Peers run(2, timing, 0.0);
  EXPECT_EQ(silent_ranks(checks_until(run, 0.0, 2.2)), (std::vector<int>{1}));
}

TEST(Peers, RankZerosOwnAbsenceIsNotAWorkersSilence) {
  Peers peers(2, PeerTiming{5}, 0.0);  // heartbeat 1 s
  peers.heard(1, 0.5);
  EXPECT_TRUE(peers.on_time(0.5).silent.empty());
  EXPECT_TRUE(peers.on_time(30.0).silent.empty());  // rank 0 was away 29.5 s
  // Excused: the gap less two heartbeats; the silence counts from 28 s.
  EXPECT_TRUE(checks_until(peers, 30.0, 32.9).silent.empty());
  EXPECT_EQ(silent_ranks(checks_until(peers, 32.9, 33.5)), (std::vector<int>{1}));
}

TEST(Peers, GoodbyeEndsTheSilenceRuleNotTheHeartbeatsOrTheFinalWord) {
  Peers peers(3, PeerTiming{5}, 0.0);
  peers.said_goodbye(1);
  EXPECT_FALSE(peers.all_accounted_for());
  EXPECT_FALSE(peers.declare_lost(1));  // owes nothing
  const auto due = checks_until(peers, 0.0, 5.2);
  EXPECT_EQ(silent_ranks(due), (std::vector<int>{2}));
  EXPECT_EQ(std::count(due.heartbeats.begin(), due.heartbeats.end(), 1), 5);  // one a second
  EXPECT_TRUE(peers.declare_lost(2));
  EXPECT_TRUE(peers.all_accounted_for());
  peers.expect(1);  // a new share: rank 1 owes something again
  EXPECT_FALSE(peers.all_accounted_for());

  FakeClock clock;
  FakeTransport transport(clock, 0.01);
  transport.drain_completes = false;  // rank 1 never takes it: the wait is still bounded
  send_final_word(transport, peers, protocol::Final{3, true}, 7.5);
  ASSERT_EQ(transport.sent.size(), 1u);
  EXPECT_EQ(transport.sent[0].dest, 1);  // the living only
  EXPECT_EQ(transport.sent[0].tag, protocol::kFinal);
  const auto final_word = protocol::decode_final(transport.sent[0].words);
  EXPECT_EQ(final_word.code, 3);
  EXPECT_TRUE(final_word.skip_finalize);
  EXPECT_EQ(transport.drains, (std::vector<double>{7.5}));
}

TEST(Peers, HeartbeatsWhileRankZeroLoadsLongerThanTheSilence) {
  // Rank 0 loads a checkpoint for 30 fake seconds (3 × --peer-timeout) on a helper
  // thread: meanwhile every living worker hears from it at the heartbeat interval, so
  // none gives up. The load ends when the fake clock says so, not after a real time.
  FakeClock clock;
  FakeTransport transport(clock, 0.0);
  const PeerTiming timing{10};  // heartbeat 1 s
  const double start = clock.now();
  Peers waiting(4, timing, start);
  ASSERT_TRUE(waiting.declare_lost(3));
  std::atomic<bool> loaded{false};
  const int value = run_beside_peers(
      [&] {
        while (!loaded) std::this_thread::yield();
        return 42;
      },
      transport, waiting, clock, [&] {
        clock.advance(0.05);
        if (clock.now() - start > 3 * timing.silence) loaded = true;
      });
  EXPECT_EQ(value, 42);
  EXPECT_GT(clock.now() - start, 3 * timing.silence);
  for (int rank : {1, 2}) {
    const auto beats = transport.sent_to(rank, protocol::kHeartbeat);
    EXPECT_GE(beats.size(), 28u) << rank;
    EXPECT_LE(transport.longest_gap_to(rank, start), timing.heartbeat() + 0.05 + 1e-9) << rank;
  }
  EXPECT_TRUE(transport.sent_to(3, protocol::kHeartbeat).empty());  // lost: never told anything
}

}  // namespace
}  // namespace tally::parallel
