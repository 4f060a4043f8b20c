// The scheduler hands out every pending chunk exactly once, in contiguous batches that
// shrink toward the end, and skips chunks a resumed ledger already has; a worker's
// batches last the target duration at the speed rank 0 measured.
#include "parallel/scheduler.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "parallel/dispatcher.hpp"

namespace tally::parallel {
namespace {

core::Config config_with_chunks(std::int64_t tasks, std::int64_t samples, std::int64_t chunk) {
  core::Config c;
  c.tasks = tasks;
  c.samples = samples;
  c.chunk = chunk;
  return c;
}

TEST(Scheduler, HandsOutEveryChunkExactlyOnce) {
  const auto config = config_with_chunks(7, 1000, 10);
  const core::Ledger ledger(config);
  Scheduler scheduler(ledger, 3);
  std::vector<int> seen(ledger.size(), 0);
  while (auto batch = scheduler.next()) {
    ASSERT_GT(batch->count, 0u);
    for (std::uint64_t i = 0; i < batch->count; ++i) ++seen[batch->first + i];
  }
  for (int s : seen) EXPECT_EQ(s, 1);
  EXPECT_EQ(scheduler.pending(), 0u);
}

TEST(Scheduler, BatchesShrinkTowardTheEnd) {
  const auto config = config_with_chunks(1, 100000, 10);
  const core::Ledger ledger(config);
  Scheduler scheduler(ledger, 4);
  std::vector<std::uint64_t> sizes;
  while (auto batch = scheduler.next()) sizes.push_back(batch->count);
  ASSERT_GT(sizes.size(), 8u);
  EXPECT_GT(sizes.front(), 100u * sizes.back());
  for (std::size_t i = 1; i < sizes.size(); ++i) EXPECT_LE(sizes[i], sizes[i - 1]);
  EXPECT_EQ(sizes.back(), 1u);
}

TEST(Scheduler, RespectsTheDrawCap) {
  const auto config = config_with_chunks(2, 1 << 20, 1 << 10);
  const core::Ledger ledger(config);
  Scheduler scheduler(ledger, 1);
  const auto batch = scheduler.next(std::uint64_t{1} << 14);
  ASSERT_TRUE(batch);
  EXPECT_EQ(batch->count, 16u);
}

TEST(Scheduler, SkipsChunksTheLedgerAlreadyHas) {
  const auto config = config_with_chunks(2, 100, 10);
  core::Ledger ledger(config);
  for (core::ChunkId id : {0u, 1u, 5u, 19u}) ledger.record(id, {int64_t(id), 0});
  Scheduler scheduler(ledger, 1);
  EXPECT_EQ(scheduler.pending(), 16u);
  std::vector<int> seen(ledger.size(), 0);
  while (auto batch = scheduler.next(10)) {  // one chunk per batch
    for (std::uint64_t i = 0; i < batch->count; ++i) {
      EXPECT_FALSE(ledger.done(batch->first + i));
      ++seen[batch->first + i];
    }
  }
  for (core::ChunkId id = 0; id < ledger.size(); ++id) EXPECT_EQ(seen[id], ledger.done(id) ? 0 : 1) << id;
}

TEST(Scheduler, NothingPendingMeansNoBatch) {
  const auto config = config_with_chunks(1, 10, 10);
  core::Ledger ledger(config);
  ledger.record(0, {550, 0});
  Scheduler scheduler(ledger, 2);
  EXPECT_FALSE(scheduler.next());
}

}  // namespace
}  // namespace tally::parallel

namespace tally::parallel {
namespace {

TEST(Scheduler, GivenBackChunksAreHandedOutAgainExceptThoseDoneMeanwhile) {
  const auto config = config_with_chunks(2, 1000, 10);
  core::Ledger ledger(config);
  Scheduler scheduler(ledger, 2);
  const auto lost = scheduler.next();
  ASSERT_TRUE(lost.has_value());
  ASSERT_GT(lost->count, 2u);
  std::vector<int> seen(ledger.size(), 0);
  while (auto batch = scheduler.next())
    for (std::uint64_t i = 0; i < batch->count; ++i) ++seen[batch->first + i];
  ledger.record(lost->first + 1, {});  // someone finished one of them meanwhile
  scheduler.give_back(*lost);
  while (auto batch = scheduler.next())
    for (std::uint64_t i = 0; i < batch->count; ++i) ++seen[batch->first + i];
  for (std::uint64_t id = 0; id < ledger.size(); ++id) {
    const bool in_lost = id >= lost->first && id < lost->first + lost->count;
    EXPECT_EQ(seen[id], in_lost && id == lost->first + 1 ? 0 : 1) << "chunk " << id;
  }
  EXPECT_EQ(scheduler.pending(), 0u);
}

}  // namespace
}  // namespace tally::parallel

namespace tally::parallel {
namespace {

// Pacing: a worker's batch lasts the target duration at the speed rank 0 measured from
// the gaps between its results; before that, the fixed cap.
TEST(Scheduler, PacedBatchesLastTheTargetAtTheMeasuredSpeed) {
  const auto config = config_with_chunks(4, std::int64_t{1} << 32, std::int64_t{1} << 20);  // 2^14 chunks
  const core::Ledger ledger(config);
  Scheduler scheduler(ledger, 3, {1, 0.2});
  scheduler.reported(1, {}, 0.0);  // the worker's first request
  const auto first = scheduler.next_for(1);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->count, 128u);  // speed not known yet: 2^26 draws × 0.2 s / 0.1 s
  scheduler.reported(1, *first, 0.5);
  EXPECT_EQ(scheduler.next_for(1)->count, 128u);  // one result alone times nothing
  scheduler.reported(1, *first, 0.6);  // 2^27 draws in 0.1 s
  const auto paced = scheduler.next_for(1);
  ASSERT_TRUE(paced);
  EXPECT_EQ(paced->count, 256u);  // 0.2 s at 2^27 / 0.1 draws per second, in chunks of 2^20
}

TEST(Scheduler, ASlowerRankGetsFewerDrawsForTheSameDuration) {
  const auto config = config_with_chunks(4, std::int64_t{1} << 32, std::int64_t{1} << 20);
  const core::Ledger ledger(config);
  Scheduler scheduler(ledger, 3, {2, 1.0});
  for (int rank : {1, 2}) scheduler.reported(rank, {200, 1}, 0.0);
  scheduler.reported(1, {0, 100}, 1.0);  // 100 chunks a second
  scheduler.reported(2, {100, 25}, 1.0);  // 25 chunks a second
  EXPECT_EQ(scheduler.draw_budget(1), 100u << 20);
  EXPECT_EQ(scheduler.draw_budget(2), 25u << 20);
  EXPECT_EQ(scheduler.draw_budget(0), Scheduler::kMaxBatchDrawsPerThread * 2 * 10);  // never timed: the stretched cap
  Scheduler many(ledger, 100000, {2, 0.5});  // before the first timing, the cap × 0.5 s / 0.1 s
  EXPECT_EQ(many.draw_budget(1), Scheduler::kMaxBatchDrawsPerThread * 2 * 5);
}

TEST(Scheduler, SpeedAveragesDrawsAndGapsSoQueuedResultsCannotInflateIt) {
  RankSpeed speed;
  EXPECT_EQ(speed.draws_per_second(), 0.0);
  speed.reported(0, 0.0);      // a plain request: the first gap holds the wait for work
  speed.reported(500, 10.0);   // the first result: the base for the next gap
  EXPECT_EQ(speed.draws_per_second(), 0.0);
  speed.reported(1000, 11.0);
  EXPECT_DOUBLE_EQ(speed.draws_per_second(), 1000.0);
  // Rank 0 was away for a while: one result waited (a long gap), the next one is read
  // right after it (a gap near zero). Neither moves the estimate far, and together
  // they cancel out.
  speed.reported(1000, 13.0);
  EXPECT_DOUBLE_EQ(speed.draws_per_second(), 1000.0 / 1.25);
  speed.reported(1000, 13.0);
  EXPECT_DOUBLE_EQ(speed.draws_per_second(), 1000.0 / 0.9375);
  EXPECT_LT(speed.draws_per_second(), 1000.0 * 4 / 3);
  for (int i = 1; i <= 40; ++i) speed.reported(1000, 13.0 + 0.5 * i);  // really twice as fast now: followed
  EXPECT_NEAR(speed.draws_per_second(), 2000.0, 1.0);
}

TEST(Scheduler, WithoutPacingTheCapHolds) {
  const auto config = config_with_chunks(4, std::int64_t{1} << 32, std::int64_t{1} << 20);
  const core::Ledger ledger(config);
  Scheduler scheduler(ledger, 3, {1, 0.0});
  scheduler.reported(1, {2000, 1}, 0.0);
  scheduler.reported(1, {0, 1000}, 0.001);
  EXPECT_EQ(scheduler.draw_budget(1), Scheduler::kMaxBatchDrawsPerThread);
  EXPECT_EQ(scheduler.next_for(1)->count, 64u);
  scheduler.reported(7, {0, 1}, 1.0);  // no such rank: ignored
}

TEST(Scheduler, PacedBatchesStillShrinkTowardTheEnd) {
  const auto config = config_with_chunks(1, std::int64_t{1} << 30, std::int64_t{1} << 20);  // 1024 chunks
  const core::Ledger ledger(config);
  Scheduler scheduler(ledger, 2, {1, 1.0});
  scheduler.reported(1, {0, 1}, 0.0);
  scheduler.reported(1, {0, 400}, 1.0);  // the target alone is 400 chunks
  std::vector<std::uint64_t> sizes;
  while (auto batch = scheduler.next_for(1)) sizes.push_back(batch->count);
  // Half of the pending chunks per rank, down to half the target, then what is left.
  EXPECT_EQ(sizes, (std::vector<std::uint64_t>{256, 200, 200, 200, 168}));
}

TEST(Scheduler, PacedBatchesShrinkToHalfTheTargetNotToOneChunk) {
  const auto config = config_with_chunks(1, std::int64_t{1} << 30, std::int64_t{1} << 20);  // 1024 chunks
  const core::Ledger ledger(config);
  Scheduler scheduler(ledger, 2, {1, 1.0});
  scheduler.reported(1, {0, 1}, 0.0);
  scheduler.reported(1, {0, 100}, 1.0);  // 100 chunks a second: the target is 100 chunks
  std::vector<std::uint64_t> sizes;
  std::uint64_t total = 0;
  while (auto batch = scheduler.next_for(1)) {
    sizes.push_back(batch->count);
    total += batch->count;
  }
  EXPECT_EQ(total, 1024u);
  EXPECT_EQ(sizes.front(), 100u);
  for (std::size_t i = 0; i + 1 < sizes.size(); ++i) EXPECT_GE(sizes[i], 50u) << i;  // only the rest is smaller
  // 100 × 7, then the guided share 81, 60, then the floor 50, 50, 50, and the 33 left.
  EXPECT_EQ(sizes, (std::vector<std::uint64_t>{100, 100, 100, 100, 100, 100, 100, 81, 60, 50, 50, 50, 33}));
  // Unpaced (rank 0's own batches), the old rule: down to one chunk.
  Scheduler plain(ledger, 2, {1, 1.0});
  std::uint64_t last = 0;
  while (auto batch = plain.next(std::uint64_t{100} << 20)) last = batch->count;
  EXPECT_EQ(last, 1u);
}

// Rank 0 receives ranks / target results per second: at most kResultsPerSecond up to
// 10^5 ranks, and a batch lasts at most kMaxBatchSeconds.
TEST(Scheduler, TargetDurationKeepsRankZerosResultRateBounded) {
  EXPECT_DOUBLE_EQ(Scheduler::target_batch_seconds(1), Scheduler::kMinBatchSeconds);
  EXPECT_DOUBLE_EQ(Scheduler::target_batch_seconds(3), Scheduler::kMinBatchSeconds);
  for (int ranks : {1, 2, 10, 1000, 10000, 10001, 50000, 100000}) {
    EXPECT_LE(ranks / Scheduler::target_batch_seconds(ranks), Scheduler::kResultsPerSecond * (1 + 1e-12)) << ranks;
    EXPECT_LE(Scheduler::target_batch_seconds(ranks), Scheduler::kMaxBatchSeconds);
  }
  EXPECT_DOUBLE_EQ(Scheduler::target_batch_seconds(50000), 0.25);
  EXPECT_DOUBLE_EQ(Scheduler::target_batch_seconds(1000000), Scheduler::kMaxBatchSeconds);
}

}  // namespace
}  // namespace tally::parallel

// The wiring in Dispatcher: rank 0 times a worker by the gaps between its results and
// sizes its next batches from that, with no help from the worker (no protocol change).

namespace tally::parallel {
namespace {

std::vector<std::uint64_t> fake_result(const Batch& b) {
  BatchResult r;
  r.batch = b;
  r.sums.resize(b.count);  // the ledger takes any sum for a chunk it does not have yet
  return protocol::encode(r);
}

std::vector<Batch> assigned(Dispatcher& d) {
  std::vector<Batch> out;
  for (auto& o : d.take_outgoing())
    if (o.tag == protocol::kAssign) out.push_back(protocol::decode_assign(o.words).batch);
  return out;
}

TEST(Scheduler, DispatcherPacesAWorkerByTheGapsBetweenItsResults) {
  const auto config = config_with_chunks(4, std::int64_t{1} << 32, std::int64_t{1} << 20);  // 2^14 chunks
  io::RunRecord record{core::Ledger(config)};
  DispatchOptions o;
  o.batch_seconds = 0.2;
  Dispatcher d(record, 3, o, 0.0);
  d.on_message(1, protocol::kResult, protocol::encode(BatchResult{}), 0.0);
  d.on_message(1, protocol::kResult, protocol::encode(BatchResult{}), 0.0);
  const auto first = assigned(d);
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].count, 128u);  // 2^26 draws × 0.2 s / 0.1 s before any timing
  d.on_message(1, protocol::kResult, fake_result(first[0]), 0.5);
  EXPECT_EQ(assigned(d).at(0).count, 128u);  // one result times nothing
  d.on_message(1, protocol::kResult, fake_result(first[1]), 0.6);  // 2^27 draws in 0.1 s
  EXPECT_EQ(assigned(d).at(0).count, 256u);  // 0.2 s at that speed
  // Default options: the target for the rank count (0.1 s for 3 ranks).
  io::RunRecord other{core::Ledger(config)};
  Dispatcher plain(other, 3, {}, 0.0);
  plain.on_message(2, protocol::kResult, protocol::encode(BatchResult{}), 0.0);
  EXPECT_EQ(assigned(plain).at(0).count, 64u);
}

}  // namespace
}  // namespace tally::parallel
