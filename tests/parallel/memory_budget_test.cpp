// The memory estimate rank 0 checks before a run: the histogram's per-thread batch
// copies count (issue 19, defect 3).
#include <gtest/gtest.h>

#include "parallel/memory_budget.hpp"
#include "parallel/scheduler.hpp"

namespace tally::parallel {
namespace {

core::Config histogram_config() {
  core::Config c;
  c.tasks = 1024;
  c.samples = std::int64_t{1} << 20;
  c.range = {0, (1 << 16) - 1};  // span 2^16: tasks × span = 2^26 cells, the largest allowed
  return c;
}

TEST(MemoryBudget, HistogramBatchCopiesArePerThread) {
  const core::Config c = histogram_config();
  // 2^26 draws per thread over tasks of 2^20 draws: 64 · threads + 2 rows of 2^16 cells.
  for (int threads : {1, 4}) {
    const std::uint64_t rows = Scheduler::kMaxBatchDrawsPerThread * std::uint64_t(threads) / (1u << 20) + 2;
    EXPECT_EQ(histogram_batch_bytes(c, threads), std::uint64_t(threads + 2) * rows * (1u << 16) * 8) << threads;
  }
  EXPECT_EQ(estimated_ledger_bytes(c, true, 4) - estimated_ledger_bytes(c, true, 1),
            histogram_batch_bytes(c, 4) - histogram_batch_bytes(c, 1));
  EXPECT_EQ(estimated_ledger_bytes(c, false, 4), estimated_ledger_bytes(c, false, 1));
}

TEST(MemoryBudget, HistogramRowsAreBoundedByTheTasks) {
  core::Config c = histogram_config();
  c.tasks = 3;
  c.samples = 1000;
  EXPECT_EQ(histogram_batch_bytes(c, 2), std::uint64_t(4) * 3 * (1u << 16) * 8);
}

}  // namespace
}  // namespace tally::parallel
