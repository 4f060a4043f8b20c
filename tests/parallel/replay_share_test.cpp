// verify's split of the selected chunks over ranks: contiguous, in rank order, covering
// every chunk exactly once, sizes differing by at most one — for any count of ranks.
#include <gtest/gtest.h>

#include <cstdint>

#include "parallel/replay.hpp"

namespace tally::parallel {
namespace {

TEST(ReplayShare, ContiguousCompleteBalanced) {
  for (std::size_t n : {0u, 1u, 2u, 7u, 155u, 4096u, 95368u}) {
    for (int ranks = 1; ranks <= 9; ++ranks) {
      std::size_t next = 0, smallest = SIZE_MAX, largest = 0;
      for (int r = 0; r < ranks; ++r) {
        const auto [begin, end] = replay_share(n, r, ranks);
        EXPECT_EQ(begin, next) << n << " chunks, rank " << r << " of " << ranks;
        ASSERT_LE(begin, end);
        smallest = std::min(smallest, end - begin);
        largest = std::max(largest, end - begin);
        next = end;
      }
      EXPECT_EQ(next, n) << n << " chunks over " << ranks << " ranks";
      EXPECT_LE(largest - smallest, 1u) << n << " chunks over " << ranks << " ranks";
    }
  }
}

TEST(ReplayShare, NoOverflowAtTheLedgerLimit) {
  const std::size_t n = std::size_t{1} << 28;  // Config::kMaxChunks
  EXPECT_EQ(replay_share(n, 4095, 4096).second, n);
  EXPECT_EQ(replay_share(n, 1, 4096).first, n / 4096);
}

}  // namespace
}  // namespace tally::parallel
