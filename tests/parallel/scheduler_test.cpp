// The scheduler hands out every pending chunk exactly once, in contiguous batches that
// shrink toward the end, and skips chunks a resumed ledger already has.
#include "parallel/scheduler.hpp"

#include <gtest/gtest.h>

#include <vector>

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
