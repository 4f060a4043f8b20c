// Every numpy-stream path equals the scalar definition (raw-unit sums and rejected
// counts) for random ranges and spans, including spans where NumPy rejects often, and
// task tails equal the sum of the first accepted values taken one unit at a time.
#include <gtest/gtest.h>

#include <climits>
#include <random>

#include "core/cpu.hpp"
#include "every_kernel_path.hpp"
#include "core/kernel.hpp"
#include "core/kernel_numpy.hpp"

namespace tally::core {
namespace {

// Every mode: 32-bit Lemire (tiny and near-half rejection rates), 2^32 (raw halves),
// 64-bit Lemire (powers of two, rejection 1/4, about 1/2, threshold 1), the full
// int64 range (raw words), constant, and ranges pressed against int64's ends.
constexpr std::pair<std::int64_t, std::int64_t> kSpans[] = {
    {1, 100},
    {0, 1},
    {-5, 5},
    {0, (1LL << 31)},
    {0, (1LL << 32) - 2},
    {0, (1LL << 32) - 1},
    {-7, 3'000'000'000LL},
    {0, 1LL << 32},
    {0, (1LL << 40) - 1},
    {0, 1LL << 40},
    {0, 3 * (1LL << 61) - 1},
    {0, LLONG_MAX},
    {-5'000'000'000'000'000'000LL, 4'999'999'999'999'999'999LL},
    {LLONG_MIN, LLONG_MAX - 1},
    {LLONG_MIN, LLONG_MAX},
    {LLONG_MAX - 99, LLONG_MAX},
    {LLONG_MIN, LLONG_MIN + (1LL << 32) - 1},
    {LLONG_MAX - (1LL << 40), LLONG_MAX},
    {9, 9}};

TEST(KernelNumpy, PortablePathEqualsTheScalarDefinition) {
  std::mt19937_64 rng(7);
  for (const auto& [lo, hi] : kSpans) {
    for (int trial = 0; trial < 8; ++trial) {
      const NumpyStream s(u128(rng()) << 64 | rng(), {lo, hi});
      const TaskId t = rng() % (1ull << 40);
      const Index a = rng() % 3000, b = a + rng() % 9000;
      EXPECT_EQ(sum_numpy_portable(s, t, a, b), s.sum_scalar(t, a, b)) << lo << ":" << hi;
    }
  }
}

TEST(KernelNumpy, EveryPathEqualsTheScalarDefinition) {
  on_every_path([](KernelPath p) {
    std::mt19937_64 rng(9);
    for (const auto& [lo, hi] : kSpans) {
      for (int trial = 0; trial < 8; ++trial) {
        const NumpyStream s(u128(rng()) << 64 | rng(), {lo, hi});
        const TaskId t = trial == 0 ? ~TaskId{0} : rng() % (1ull << 40);
        const Index a = trial == 1 ? 0 : rng() % 3000, b = a + 40 + rng() % 9000;
        const auto expected = s.sum_scalar(t, a, b);
        EXPECT_EQ(sum_numpy_hwy(s, t, a, b), expected)
            << kernel_path_name(p) << " " << lo << ":" << hi << " [" << a << "," << b << ")";
        EXPECT_EQ(sum_numpy(s, t, a, b), expected) << kernel_path_name(p);
      }
    }
  });
}

TEST(KernelNumpy, RejectionsAreCountedAndSkipped) {
  // Span 2^31 + 1 rejects almost half of all 32-bit units, span 10^19 almost half of
  // all 64-bit ones: every path must agree.
  for (const Range range : {Range{0, 1LL << 31}, Range{-5'000'000'000'000'000'000LL, 4'999'999'999'999'999'999LL}}) {
    const NumpyStream s(123, range);
    const auto expected = s.sum_scalar(5, 17, 4113);
    EXPECT_GT(expected.missing, 1000u);
    EXPECT_EQ(sum_numpy_portable(s, 5, 17, 4113), expected);
    on_every_path([&](KernelPath p) { EXPECT_EQ(sum_numpy_hwy(s, 5, 17, 4113), expected) << kernel_path_name(p); });
  }
}

TEST(KernelNumpy, LongSumsAreExactAcrossVectorPiecesOnTheBestPath) {
  // The piece loop is the same code on every target: the best one is enough.
  on_every_path([](KernelPath p) {
    if (p != kernel_paths_available().front() || p == KernelPath::kPortable) return;
    for (const auto& [range, n] : {std::pair{Range{LLONG_MIN, LLONG_MAX}, (Index{1} << 27) + 12345},
                                   std::pair{Range{-9, 1LL << 40}, (Index{1} << 27) + 12345}}) {
      const NumpyStream s(13, range);
      ChunkSum parts;
      for (Index a = 3; a < n; a += Index{1} << 22) {
        const auto part = sum_numpy_hwy(s, 0, a, std::min(n, a + (Index{1} << 22)));
        parts.sum += part.sum;
        parts.missing += part.missing;
      }
      EXPECT_EQ(sum_numpy_hwy(s, 0, 3, n), parts) << kernel_path_name(p) << " " << range.lo << ":" << range.hi;
    }
  });
}

TEST(KernelNumpy, SmallSpansAreExactOverLongRuns) {
  // On AVX2, spans up to 2^24 sum offsets in 32-bit lanes (widened every
  // 2^32 / (3 (span - 1)) groups of three blocks) and correct a group when a low product
  // is below the threshold; the next span takes the masked kernel. 2^20 units: span
  // 16,711,936 rejects about 4,000 (a corrected group every few dozen), 65,175 about 16
  // and widens twice, 2^24 has the largest offsets and no threshold. Every path.
  on_every_path([](KernelPath p) {
    for (const std::int64_t span : {65'175LL, 16'711'936LL, 1LL << 24, (1LL << 24) + 1, 100LL}) {
      const NumpyStream s(2024, {-3, span - 4});
      for (const auto& [a, b] : {std::pair{Index{5}, (Index{1} << 20) + 7}, std::pair{Index{8}, Index{8 + 24 * 5}}}) {
        const auto expected = s.sum_scalar(3, a, b);
        if (span == 16'711'936LL && b > 1000) {
          EXPECT_GT(expected.missing, 3000u);
        }
        EXPECT_EQ(sum_numpy_hwy(s, 3, a, b), expected)
            << kernel_path_name(p) << " span " << span << " [" << a << "," << b << ")";
      }
    }
  });
}

void tails_are_the_first_accepted_values();

/// The task's sum by NumPy's definition: its first n accepted values, one unit at a time.
i128 first_accepted_values(const NumpyStream& s, TaskId t, Index n) {
  i128 sum = 0;
  for (Index u = 0; n > 0; ++u) {
    std::uint64_t d = 0;
    if (!s.accept(s.unit(t, u), d)) continue;
    sum += i128(s.range().lo) + i128(d);
    --n;
  }
  return sum;
}

TEST(KernelNumpy, TaskSumPlusTailIsTheFirstAcceptedValues) {
  // Spans in (2^31, 2^32) and 10^19 reject up to half the units: their tails are long
  // enough to run through the vector kernel in several rounds. On every path.
  on_every_path([](KernelPath) { tails_are_the_first_accepted_values(); });
}

void tails_are_the_first_accepted_values() {
  for (const Range range : {Range{1, 100}, Range{0, 1LL << 31}, Range{-3, 3'000'000'000LL},
                            Range{-5'000'000'000'000'000'000LL, 4'999'999'999'999'999'999LL}, Range{LLONG_MIN, LLONG_MAX}}) {
    Config c;
    c.stream = StreamKind::kNumpy;
    c.range = range;
    c.seed = 77;
    c.tasks = 3;
    c.samples = 60'001;
    c.chunk = 60'001;
    const Kernel kernel(c);
    const NumpyStream s(c.seed, c.range);
    std::vector<TaskId> tasks{0, 1, 2};
    std::vector<std::uint64_t> missing;
    std::vector<i128> chunk_sums;
    for (TaskId t : tasks) {
      const auto sum = kernel.sum(t, {0, Index(c.samples)});
      missing.push_back(sum.missing);
      chunk_sums.push_back(sum.sum);
    }
    for (int threads : {1, 2, 3}) {
      std::vector<i128> tails(tasks.size());
      kernel.tails(tasks, missing, tails, threads);
      for (std::size_t i = 0; i < tasks.size(); ++i) {
        EXPECT_EQ(tails[i], s.tail(tasks[i], Index(c.samples), missing[i])) << range.lo << ":" << range.hi;
        EXPECT_EQ(chunk_sums[i] + tails[i], first_accepted_values(s, tasks[i], Index(c.samples)))
            << range.lo << ":" << range.hi << " threads " << threads;
      }
    }
    EXPECT_EQ(kernel.tail(1, missing[1]), s.tail(1, Index(c.samples), missing[1]));
  }
}

}  // namespace
}  // namespace tally::core
