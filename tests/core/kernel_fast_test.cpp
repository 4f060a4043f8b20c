// Every fast-stream path equals the scalar definition, value by value, for random
// ranges, spans and edges, rejected words included.
#include <gtest/gtest.h>

#include <random>

#include "core/kernel.hpp"
#include "core/kernel_fast.hpp"

namespace tally::core {
namespace {

struct Case {
  std::int64_t lo, hi;
};

TEST(KernelFast, AllPathsEqualTheScalarDefinition) {
  std::mt19937_64 rng(20261123);
  const Case spans[] = {{1, 100}, {0, 1}, {-1, 1}, {1, 7}, {-50, 49}, {0, 1023}, {0, 99999},
                        {5, 5 + (1 << 20) - 1}, {0, 1 << 20}, {-3, 4'000'000'000LL}};
  for (const auto& span : spans) {
    for (int trial = 0; trial < 12; ++trial) {
      const FastStream s(u128(rng()) << 64 | rng(), {span.lo, span.hi});
      const TaskId t = rng() % 1000;
      const Index a = rng() % 5000, b = a + rng() % 20000;
      const auto expected = s.sum_scalar(t, a, b);
      EXPECT_EQ(sum_fast_portable(s, t, a, b), expected) << span.lo << ":" << span.hi << " [" << a << "," << b << ")";
      if (cpu_has_avx512() && s.mode() == FastStream::Mode::kPacked) {
        EXPECT_EQ(sum_fast_avx512(s, t, a, b), expected) << span.lo << ":" << span.hi << " [" << a << "," << b << ")";
      }
    }
  }
}

TEST(KernelFast, RejectedWordsAreReplacedInPlace) {
  // Find words the [1, 100] stream rejects, then sum ranges covering them on every path.
  const FastStream s(42, {1, 100});
  int found = 0;
  for (std::uint64_t j = 0; j < 200000 && found < 5; ++j) {
    if (!s.packed_rejects(s.block(3, j / 4)[j % 4])) continue;
    ++found;
    const Index a = j * 3 > 700 ? j * 3 - 700 : 0, b = j * 3 + 900;
    const auto expected = s.sum_scalar(3, a, b);
    EXPECT_EQ(sum_fast_portable(s, 3, a, b), expected);
    if (cpu_has_avx512()) {
      EXPECT_EQ(sum_fast_avx512(s, 3, a, b), expected);
    }
  }
  EXPECT_EQ(found, 5) << "expected some rejected words in 200000 (p = 2.25e-4)";
}

TEST(KernelFast, DivisionByMultiplyShiftIsExactForEveryPackedSpan) {
  // The vector path divides v < 2^20 by s with magic = ceil(2^(20+l)/s), shift 20+l.
  for (std::uint32_t s : {2u, 3u, 7u, 10u, 100u, 101u, 255u, 1000u, 4097u, 65535u, 1u << 20}) {
    unsigned l = 0;
    while ((std::uint64_t{1} << l) < s) ++l;
    const std::uint64_t magic = ((std::uint64_t{1} << (20 + l)) + s - 1) / s;
    for (std::uint64_t v = 0; v < (1u << 20); ++v) ASSERT_EQ((v * magic) >> (20 + l), v / s) << "s=" << s << " v=" << v;
  }
}

TEST(KernelFast, SumsDoNotDependOnThreadsOrSplits) {
  for (auto stream : {StreamKind::kFast, StreamKind::kNumpy}) {
    Config c;
    c.stream = stream;
    c.tasks = 3;
    c.samples = 1'000'003;
    c.chunk = 1'000'003;
    c.seed = 99;
    const Kernel kernel(c);
    const std::vector<ChunkId> ids{0, 1, 2};
    std::vector<ChunkSum> one(3), many(3);
    kernel.sum_chunks(ids, one, 1);
    for (int threads : {2, 3, 5, 8}) {
      kernel.sum_chunks(ids, many, threads);
      EXPECT_EQ(many, one) << threads;
    }
    for (Index split : {1ull, 97ull, 4096ull, 500'000ull, 999'999ull}) {
      const auto left = kernel.sum(1, {0, split}), right = kernel.sum(1, {split, Index(c.samples)});
      EXPECT_EQ(left.sum + right.sum, one[1].sum) << split;
      EXPECT_EQ(left.missing + right.missing, one[1].missing) << split;
    }
  }
}

}  // namespace
}  // namespace tally::core
