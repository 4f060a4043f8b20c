// Kernel::sum_chunks and count_chunks with a BetweenPieces callback: it runs between
// pieces (never more than kMaxPiece draws apart), abandoning stops the work, and an
// exception thrown by the callback or a piece leaves the OpenMP region only as a
// rethrow after it (thrown out of the region itself it would be std::terminate).
#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

#include "core/histogram.hpp"
#include "core/kernel.hpp"

namespace tally::core {
namespace {

Config big_chunks(StreamKind stream) {
  Config c;
  c.stream = stream;
  c.tasks = 2;
  c.samples = std::int64_t{1} << 26;
  c.chunk = std::int64_t{1} << 26;  // one chunk is at least 16 pieces
  c.seed = 11;
  return c;
}

TEST(KernelPieces, BetweenRunsBetweenPiecesAndSumsAreUnchanged) {
  for (auto stream : {StreamKind::kFast, StreamKind::kNumpy}) {
    const Kernel kernel(big_chunks(stream));
    const std::vector<ChunkId> ids{0, 1};
    std::vector<ChunkSum> plain(2), paced(2);
    kernel.sum_chunks(ids, plain, 2);
    int calls = 0;
    EXPECT_TRUE(kernel.sum_chunks(ids, paced, 2, [&] { return ++calls > 0; }));
    EXPECT_EQ(paced, plain);
    // 2^27 draws in pieces of at most 2^22: at least 32 pieces, thread 0 runs some of them.
    EXPECT_GE(calls, 1);
  }
}

TEST(KernelPieces, AbandoningStopsTheBatch) {
  const Kernel kernel(big_chunks(StreamKind::kFast));
  const std::vector<ChunkId> ids{0, 1};
  std::vector<ChunkSum> out(2);
  int calls = 0;
  EXPECT_FALSE(kernel.sum_chunks(ids, out, 2, [&] { return ++calls < 2; }));
  EXPECT_EQ(calls, 2);  // thread 0 took no piece after it was told to stop
  std::vector<std::int64_t> counts(2 * 100, 0);
  EXPECT_FALSE(kernel.count_chunks(ids, 0, counts, 2, [] { return false; }));
}

TEST(KernelPieces, AnExceptionFromBetweenIsRethrownAfterTheRegion) {
  for (int threads : {1, 2, 4}) {
    const Kernel kernel(big_chunks(StreamKind::kNumpy));
    const std::vector<ChunkId> ids{0, 1};
    std::vector<ChunkSum> out(2);
    int calls = 0;
    const auto give_up = [&]() -> bool {
      if (++calls == 2) throw std::runtime_error("rank 0 is silent");
      return true;
    };
    EXPECT_THROW(kernel.sum_chunks(ids, out, threads, give_up), std::runtime_error) << threads;
    EXPECT_EQ(calls, 2) << threads;  // nothing ran between pieces after the failure
    calls = 0;
    std::vector<std::int64_t> counts(2 * 100, 0);
    EXPECT_THROW(kernel.count_chunks(ids, 0, counts, threads, give_up), std::runtime_error) << threads;
  }
}

TEST(KernelPieces, CountChunksEqualsCountChunkPerChunk) {
  for (auto stream : {StreamKind::kFast, StreamKind::kNumpy}) {
    Config c = big_chunks(stream);
    c.samples = 3'000'017;
    c.chunk = 1'000'003;
    c.tasks = 3;
    const Kernel kernel(c);
    const std::vector<ChunkId> ids{2, 3, 4, 5, 6};  // tasks 0 (last chunk) … 2
    const TaskId first = c.task_of(ids.front());
    const std::size_t rows = c.task_of(ids.back()) - first + 1;
    std::vector<std::int64_t> expected(rows * 100, 0), got(rows * 100, 0);
    for (ChunkId id : ids)
      kernel.count_chunk(id, std::span(expected).subspan((c.task_of(id) - first) * 100, 100));
    for (int threads : {1, 3}) {
      std::fill(got.begin(), got.end(), 0);
      EXPECT_TRUE(kernel.count_chunks(ids, first, got, threads, [] { return true; }));
      EXPECT_EQ(got, expected) << threads;
    }
  }
}

}  // namespace
}  // namespace tally::core
