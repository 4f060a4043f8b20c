// Every numpy-stream path equals the scalar definition (raw-unit sums and rejected
// counts) for random ranges and spans, including spans where NumPy rejects often.
#include <gtest/gtest.h>

#include <random>

#include "core/kernel_fast.hpp"
#include "core/kernel_numpy.hpp"

namespace tally::core {
namespace {

TEST(KernelNumpy, AllPathsEqualTheScalarDefinition) {
  std::mt19937_64 rng(7);
  const std::pair<std::int64_t, std::int64_t> spans[] = {
      {1, 100}, {0, 1}, {-5, 5}, {0, (1LL << 31)}, {0, (1LL << 32) - 2}, {0, (1LL << 32) - 1},
      {-7, 3'000'000'000LL}, {0, 1LL << 40}, {INT64_MIN, INT64_MAX}, {9, 9}};
  for (const auto& [lo, hi] : spans) {
    for (int trial = 0; trial < 10; ++trial) {
      const NumpyStream s(u128(rng()) << 64 | rng(), {lo, hi});
      const TaskId t = rng() % (1ull << 40);
      const Index a = rng() % 3000, b = a + rng() % 9000;
      const auto expected = s.sum_scalar(t, a, b);
      EXPECT_EQ(sum_numpy_portable(s, t, a, b), expected) << lo << ":" << hi;
      if (cpu_has_avx512() && s.mode() == NumpyStream::Mode::kLemire32) {
        EXPECT_EQ(sum_numpy_avx512(s, t, a, b), expected) << lo << ":" << hi << " [" << a << "," << b << ")";
      }
    }
  }
}

TEST(KernelNumpy, RejectionsAreCountedAndSkipped) {
  // Span 2^31 + 1 rejects almost half of all units: the masked vector path must agree.
  const NumpyStream s(123, {0, 1LL << 31});
  const auto expected = s.sum_scalar(5, 17, 4113);
  EXPECT_GT(expected.missing, 1000u);
  EXPECT_EQ(sum_numpy_portable(s, 5, 17, 4113), expected);
  if (cpu_has_avx512()) {
    EXPECT_EQ(sum_numpy_avx512(s, 5, 17, 4113), expected);
  }
}

}  // namespace
}  // namespace tally::core
