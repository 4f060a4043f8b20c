// Result messages round-trip exactly, with and without a histogram, and malformed
// ones are recognised instead of read past their end.
#include "parallel/protocol.hpp"

#include <gtest/gtest.h>

namespace tally::parallel {
namespace {

TEST(Protocol, ResultsRoundTrip) {
  BatchResult r;
  r.batch = {40, 3};
  // 128-bit sums: negative, beyond 2^64 and near the bounds a chunk can reach.
  const core::i128 big = core::i128{1} << 100;
  r.sums = {{-5, 0}, {1LL << 62, 7}, {0, 1}, {big + 12345, 2}, {-big - 1, 0}};
  r.batch = {40, r.sums.size()};
  BatchResult back;
  ASSERT_TRUE(protocol::decode(protocol::encode(r), back));
  EXPECT_EQ(back.batch.first, 40u);
  EXPECT_EQ(back.sums, r.sums);
  EXPECT_TRUE(back.histogram.empty());
}

TEST(Protocol, HistogramRoundTrip) {
  BatchResult r;
  r.batch = {0, 1};
  r.sums = {{10, 0}};
  r.first_task = 3;
  r.histogram = {1, 0, 4, 5};
  BatchResult back;
  ASSERT_TRUE(protocol::decode(protocol::encode(r), back));
  EXPECT_EQ(back.first_task, 3u);
  EXPECT_EQ(back.histogram, r.histogram);
}

TEST(Protocol, EmptyRequestDecodes) {
  BatchResult back;
  ASSERT_TRUE(protocol::decode(protocol::encode(BatchResult{}), back));
  EXPECT_EQ(back.batch.count, 0u);
}

TEST(Protocol, MalformedMessagesAreRefused) {
  BatchResult back;
  EXPECT_FALSE(protocol::decode({}, back));
  EXPECT_FALSE(protocol::decode({0, 5, 1, 2}, back));         // says 5 chunks, carries 1
  EXPECT_FALSE(protocol::decode({0, 1, 1, 2, 0, 9, 1}, back)); // histogram says 9 cells, carries 1
  EXPECT_FALSE(protocol::decode({0, ~0ull, 1, 2}, back));     // absurd count
}

TEST(Protocol, AssignRoundTrip) {
  const protocol::Assign a{{7, 9}, protocol::NoWork::kNone};
  const auto back = protocol::decode_assign(protocol::encode(a));
  EXPECT_EQ(back.batch.first, 7u);
  EXPECT_EQ(back.batch.count, 9u);
  EXPECT_EQ(protocol::decode_assign({1, 2}).reason, protocol::NoWork::kStopNow);  // malformed: stop
}

}  // namespace
}  // namespace tally::parallel

namespace tally::parallel {
namespace {

TEST(Protocol, ChunkRunsRoundTripAndStaySmall) {
  std::vector<core::ChunkId> all(1u << 20);
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
  const auto words = protocol::encode_runs(all, {7});
  EXPECT_EQ(words, (std::vector<std::uint64_t>{7, 1, 0, 1u << 20}));  // a whole ledger is one run
  for (const std::vector<core::ChunkId>& ids :
       {std::vector<core::ChunkId>{}, {5}, {0, 1, 2, 9, 10, 40}, {3, 5, 7}, {(1u << 20) - 1}}) {
    const auto w = protocol::encode_runs(ids, {42});
    std::size_t at = 1;
    const auto back = protocol::decode_runs(w, at, 1u << 20);
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(*back, ids);
    EXPECT_EQ(at, w.size());
  }
}

TEST(Protocol, MalformedChunkRunsAreRefused) {
  const std::vector<std::vector<std::uint64_t>> bad = {
      {},               // no count
      {2, 0, 1},        // fewer runs than counted
      {1, 0, 0},        // an empty run
      {1, 99, 2},       // beyond the ledger (limit 100)
      {1, 0, 101},      // more ids than the ledger
      {2, 5, 2, 6, 1},  // overlapping, not ascending
      {1, 1, UINT64_MAX},
  };
  for (const auto& w : bad) {
    std::size_t at = 0;
    EXPECT_FALSE(protocol::decode_runs(w, at, 100).has_value()) << w.size();
  }
}

}  // namespace
}  // namespace tally::parallel
