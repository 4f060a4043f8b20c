// The coordinator's decisions driven by fake messages and a fake clock: every chunk is
// counted exactly once whoever computes it, a silent or failed worker is declared lost
// and its batches go to the living, late results from a lost rank are checked but not
// counted, rank 0's own absences are not held against workers, and a stop ends the run
// once the living workers have said goodbye.
#include "parallel/dispatcher.hpp"

#include <gtest/gtest.h>

#include <map>

#include "core/kernel.hpp"
#include "core/error.hpp"

namespace tally::parallel {
namespace {

core::Config small_config() {
  core::Config c;
  c.tasks = 3;
  c.samples = 4000;
  c.chunk = 100;  // 120 chunks
  return c;
}

/// A worker simulated by the test: it computes the batches it is given with the real kernel.
struct FakeWorkers {
  explicit FakeWorkers(const core::Config& c) : kernel(c) {}
  core::Kernel kernel;
  std::map<int, std::vector<Batch>> queued;  // assignments received, not yet computed

  /// Delivers the dispatcher's replies; returns how many of each tag went to `rank`.
  std::map<int, int> deliver(Dispatcher& d, std::map<int, std::vector<protocol::Assign>>* assigns = nullptr) {
    std::map<int, int> tags;
    for (auto& out : d.take_outgoing()) {
      ++tags[out.tag * 100 + out.dest];
      if (out.tag != protocol::kAssign) continue;
      const auto a = protocol::decode_assign(out.words);
      if (assigns) (*assigns)[out.dest].push_back(a);
      if (a.batch.count > 0) queued[out.dest].push_back(a.batch);
    }
    return tags;
  }
  std::vector<std::uint64_t> result_of(const Batch& b) {
    return protocol::encode(*compute_batch(kernel, b, 1, false));
  }
};

std::vector<std::uint64_t> request() { return protocol::encode(BatchResult{}); }

core::i128 reference_total(const core::Config& c) {
  core::Ledger ledger(c);
  const core::Kernel kernel(c);
  for (core::ChunkId id = 0; id < ledger.size(); ++id) ledger.record(id, kernel.sum_chunk(id));
  return ledger.total_sum();
}

TEST(Dispatcher, EveryChunkOnceAcrossWorkersAndRankZero) {
  const auto c = small_config();
  io::RunRecord record{core::Ledger(c)};
  Dispatcher d(record, 3, {}, 0.0);
  FakeWorkers w(c);
  double now = 0;
  for (int r : {1, 2}) d.on_message(r, protocol::kResult, request(), now);
  w.deliver(d);
  for (int round = 0; round < 1000 && !d.finished(); ++round) {
    now += 0.01;
    if (auto own = d.next_own_batch(300)) d.absorb_own(*compute_batch(w.kernel, *own, 1, false));
    for (int r : {1, 2}) {
      auto& q = w.queued[r];
      if (!q.empty()) {
        const Batch b = q.front();
        q.erase(q.begin());
        d.on_message(r, protocol::kResult, w.result_of(b), now);
      }
    }
    std::map<int, std::vector<protocol::Assign>> assigns;
    w.deliver(d, &assigns);
    for (auto& [r, list] : assigns)
      for (auto& a : list)
        if (a.reason == protocol::NoWork::kNoMore && w.queued[r].empty()) d.on_message(r, protocol::kBye, {}, now);
    d.on_time(now);
  }
  ASSERT_TRUE(d.finished());
  EXPECT_TRUE(record.ledger.complete());
  EXPECT_EQ(record.ledger.total_sum(), reference_total(c));
  EXPECT_FALSE(d.any_lost());
}

TEST(Dispatcher, SilentWorkerIsLostAndItsBatchesGoToOthers) {
  const auto c = small_config();
  io::RunRecord record{core::Ledger(c)};
  DispatchOptions o;
  o.timing.silence = 5;
  Dispatcher d(record, 3, o, 0.0);
  FakeWorkers w(c);
  d.on_message(1, protocol::kHello, protocol::encode_text("node2"), 0.0);
  d.on_message(1, protocol::kResult, request(), 0.0);
  d.on_message(1, protocol::kResult, request(), 0.0);
  w.deliver(d);
  const auto held = w.queued[1];  // rank 1 got two batches, then goes silent
  ASSERT_EQ(held.size(), 2u);
  std::uint64_t held_chunks = held[0].count + held[1].count;
  // Rank 2 keeps talking; rank 1 says nothing. Just before the deadline it is not lost.
  double now = 0;
  for (; now < 4.9; now += 0.5) {
    d.on_message(2, protocol::kHeartbeat, {}, now);
    d.on_time(now);
  }
  EXPECT_FALSE(d.lost(1));
  now = 5.5;
  d.on_message(2, protocol::kHeartbeat, {}, now);
  d.on_time(now);
  ASSERT_TRUE(d.lost(1));
  ASSERT_EQ(record.lost.size(), 1u);
  EXPECT_EQ(record.lost[0].rank, 1);
  EXPECT_EQ(record.lost[0].host, "node2");
  EXPECT_EQ(std::uint64_t(record.lost[0].chunks_reassigned), held_chunks);
  EXPECT_NE(record.lost[0].reason.find("silent"), std::string::npos);

  // Rank 2 and rank 0 finish everything, the given-back chunks included.
  d.on_message(2, protocol::kResult, request(), now);
  w.deliver(d);
  for (int round = 0; round < 2000 && !record.ledger.complete(); ++round) {
    now += 0.01;
    if (auto own = d.next_own_batch(100)) d.absorb_own(*compute_batch(w.kernel, *own, 1, false));
    auto& q = w.queued[2];
    if (!q.empty()) {
      const Batch b = q.front();
      q.erase(q.begin());
      d.on_message(2, protocol::kResult, w.result_of(b), now);
      w.deliver(d);
    }
  }
  ASSERT_TRUE(record.ledger.complete());
  EXPECT_EQ(record.ledger.total_sum(), reference_total(c));
  EXPECT_FALSE(d.finished());  // rank 2 still owes its goodbye; lost rank 1 does not
  d.on_message(2, protocol::kBye, {}, now);
  EXPECT_TRUE(d.finished());

  // The lost rank wakes up and reports its old batches: checked, not counted twice.
  const auto before = record.ledger.total_sum();
  d.on_message(1, protocol::kResult, w.result_of(held[0]), now);
  EXPECT_EQ(record.ledger.total_sum(), before);
  std::map<int, std::vector<protocol::Assign>> assigns;
  w.deliver(d, &assigns);
  ASSERT_EQ(assigns[1].size(), 1u);
  EXPECT_EQ(assigns[1][0].reason, protocol::NoWork::kStopNow);  // no new work for a lost rank
  // A different sum for a done chunk is a real error, never silently accepted.
  BatchResult forged = *compute_batch(w.kernel, held[0], 1, false);
  forged.sums[0].sum += 1;
  EXPECT_THROW(d.on_message(1, protocol::kResult, protocol::encode(forged), now), Error);
}

TEST(Dispatcher, MpiFailureLosesTheWorkerAtOnce) {
  const auto c = small_config();
  io::RunRecord record{core::Ledger(c)};
  Dispatcher d(record, 2, {}, 0.0);
  FakeWorkers w(c);
  d.on_message(1, protocol::kResult, request(), 0.0);
  w.deliver(d);
  d.on_peer_failed(1, "MPI error sending to it", 0.1);
  EXPECT_TRUE(d.lost(1));
  EXPECT_EQ(record.lost.at(0).reason, "MPI error sending to it");
  EXPECT_TRUE(d.peers().living().empty());
  // Rank 0 alone now computes everything, including what rank 1 held.
  while (auto own = d.next_own_batch(1000)) d.absorb_own(*compute_batch(w.kernel, *own, 1, false));
  EXPECT_TRUE(record.ledger.complete());
  EXPECT_TRUE(d.finished());
  EXPECT_EQ(record.ledger.total_sum(), reference_total(c));
}

TEST(Dispatcher, RankZerosOwnAbsenceIsNotAWorkersSilence) {
  const auto c = small_config();
  io::RunRecord record{core::Ledger(c)};
  DispatchOptions o;
  o.timing.silence = 5;
  Dispatcher d(record, 2, o, 0.0);
  d.on_message(1, protocol::kResult, request(), 0.5);
  d.on_time(0.5);
  d.on_time(30.0);  // rank 0 spent 29.5 s writing a checkpoint: the worker could not be heard
  EXPECT_FALSE(d.lost(1));
  // Gaps between ticks longer than two heartbeats are excused (less those two), so the
  // worker's silence is counted from 28 s: lost once rank 0 has listened for 5 s more.
  double now = 30.0;
  for (; now <= 32.9; now += 0.1) d.on_time(now);
  EXPECT_FALSE(d.lost(1));
  for (; now <= 33.5; now += 0.1) d.on_time(now);
  EXPECT_TRUE(d.lost(1));
}

TEST(Dispatcher, HeartbeatsGoToWaitingWorkers) {
  const auto c = small_config();
  io::RunRecord record{core::Ledger(c)};
  DispatchOptions o;
  o.timing.silence = 10;  // heartbeats every second
  Dispatcher d(record, 3, o, 0.0);
  FakeWorkers w(c);
  d.on_time(0.5);
  EXPECT_TRUE(w.deliver(d).empty());
  d.on_message(1, protocol::kHeartbeat, {}, 1.2);
  d.on_message(2, protocol::kHeartbeat, {}, 1.2);
  d.on_time(1.2);
  const auto tags = w.deliver(d);
  EXPECT_EQ(tags.at(protocol::kHeartbeat * 100 + 1), 1);
  EXPECT_EQ(tags.at(protocol::kHeartbeat * 100 + 2), 1);
}

TEST(Dispatcher, StopEndsOnceTheLivingSayGoodbye) {
  const auto c = small_config();
  io::RunRecord record{core::Ledger(c)};
  Dispatcher d(record, 3, {}, 0.0);
  FakeWorkers w(c);
  d.on_message(1, protocol::kResult, request(), 0.0);
  d.on_message(2, protocol::kResult, request(), 0.0);
  w.deliver(d);
  d.on_message(2, protocol::kStopReq, {15}, 0.1);
  EXPECT_TRUE(d.stopping());
  EXPECT_EQ(d.stop_reason(), "SIGTERM on rank 2");
  EXPECT_FALSE(d.next_own_batch(1000).has_value());
  d.on_message(1, protocol::kResult, w.result_of(w.queued[1].front()), 0.2);
  std::map<int, std::vector<protocol::Assign>> assigns;
  w.deliver(d, &assigns);
  EXPECT_EQ(assigns[1].back().reason, protocol::NoWork::kStopNow);
  d.on_message(1, protocol::kBye, {}, 0.3);
  EXPECT_FALSE(d.finished());
  d.on_peer_failed(2, "gone", 0.4);  // a lost worker does not hold the stop up
  EXPECT_TRUE(d.finished());
  EXPECT_FALSE(record.ledger.complete());
}

TEST(Dispatcher, ResultsForBatchesNeverGivenAreRefused) {
  const auto c = small_config();
  io::RunRecord record{core::Ledger(c)};
  Dispatcher d(record, 2, {}, 0.0);
  FakeWorkers w(c);
  EXPECT_THROW(d.on_message(1, protocol::kResult, w.result_of({0, 2}), 0.0), Error);
  EXPECT_THROW(d.on_message(5, protocol::kHeartbeat, {}, 0.0), Error);
}

}  // namespace
}  // namespace tally::parallel
