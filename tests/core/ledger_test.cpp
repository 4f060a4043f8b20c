// The ledger never counts a chunk twice, refuses conflicting reports, and derives task
// sums and counts (tails included) from its chunks.
#include "core/ledger.hpp"

#include <gtest/gtest.h>

#include "core/error.hpp"
#include "core/kernel.hpp"

namespace tally::core {
namespace {

TEST(Ledger, ResentResultIsCountedOnce) {
  Config c;
  c.tasks = 2;
  c.samples = 20;
  c.chunk = 10;
  Ledger ledger(c);
  ledger.record(1, {500, 0});
  ledger.record(1, {500, 0});
  EXPECT_EQ(ledger.done_count(), 1u);
  EXPECT_EQ(ledger.task_sum(0), 500);
  EXPECT_EQ(ledger.task_count(0), 10);
}

TEST(Ledger, ConflictingResultIsRefused) {
  Config c;
  Ledger ledger(c);
  ledger.record(0, {5, 0});
  EXPECT_THROW(ledger.record(0, {6, 0}), Error);
}

TEST(Ledger, RestoreRefusesImpossibleSums) {
  Config c;
  c.tasks = 1;
  c.samples = 10;
  c.chunk = 10;
  std::vector<std::uint8_t> done{1};
  EXPECT_THROW((void)Ledger::restore(c, done, {ChunkSum{1001, 0}}), Error);  // > 10 · 100
  EXPECT_THROW((void)Ledger::restore(c, done, {ChunkSum{9, 0}}), Error);     // < 10 · 1
  EXPECT_THROW((void)Ledger::restore(c, done, {ChunkSum{500, 11}}), Error);  // more missing than draws
  EXPECT_THROW((void)Ledger::restore(c, {2}, {ChunkSum{500, 0}}), Error);
  EXPECT_NO_THROW((void)Ledger::restore(c, done, {ChunkSum{500, 0}}));
}

TEST(Ledger, TaskSumsEqualTheKernelWholeTaskSums) {
  for (auto stream : {StreamKind::kFast, StreamKind::kNumpy}) {
    Config c;
    c.stream = stream;
    c.tasks = 3;
    c.samples = 10007;
    c.chunk = 1000;
    c.seed = 12345;
    const Kernel kernel(c);
    Ledger ledger(c);
    for (ChunkId id = 0; id < ledger.size(); ++id) ledger.record(id, kernel.sum_chunk(id));
    ledger.finish_tails(kernel);
    for (TaskId t = 0; t < 3; ++t) {
      const ChunkSum whole = kernel.sum(t, {0, Index(c.samples)});
      EXPECT_EQ(ledger.task_sum(t), whole.sum + kernel.tail(t, whole.missing)) << to_string(stream);
      EXPECT_EQ(ledger.task_count(t), c.samples);
    }
  }
}

}  // namespace
}  // namespace tally::core
