// Histogram counts on every path equal counts taken one value at a time from the
// streams' scalar definitions, rejected words and numpy tails included, and agree with
// the chunk sums.
#include "core/histogram.hpp"

#include <gtest/gtest.h>

#include <climits>
#include <random>
#include <vector>

#include "core/cpu.hpp"
#include "every_kernel_path.hpp"
#include "core/kernel.hpp"
#include "core/stream_fast.hpp"
#include "core/stream_numpy.hpp"

namespace tally::core {
namespace {

using Counts = std::vector<std::int64_t>;

Counts value_by_value(const FastStream& s, TaskId t, IndexRange r) {
  Counts out(std::size_t(s.range().span()), 0);
  for (Index n = r.begin; n < r.end; ++n) ++out[std::uint64_t(s.value(t, n)) - std::uint64_t(s.range().lo)];
  return out;
}

// Packed spans with 1 to 20 digits per word, powers of two and not, next to int64's ends.
constexpr std::pair<std::int64_t, std::int64_t> kSpans[] = {
    {0, 1},      {1, 3},     {-3, 3},     {1, 100},    {0, 255},           {0, 999},
    {1, 4097},   {0, 65535}, {-7, 65527}, {1, 65535},  {LLONG_MIN, LLONG_MIN + 99},
    {LLONG_MAX - 255, LLONG_MAX}, {5, 5}};

TEST(Histogram, FastPathsEqualValueByValueCounts) {
  std::mt19937_64 rng(4242);
  for (const auto& [lo, hi] : kSpans) {
    for (int trial = 0; trial < 6; ++trial) {
      const FastStream s(u128(rng()) << 64 | rng(), {lo, hi});
      const TaskId t = rng() % 1000;
      const Index a = trial == 0 ? 0 : rng() % 5000, b = a + rng() % 30000;
      const Counts expected = value_by_value(s, t, {a, b});
      Counts portable(expected.size(), 0), best(expected.size(), 0);
      add_counts_portable(s, t, {a, b}, portable);
      add_counts(s, t, {a, b}, best);
      EXPECT_EQ(portable, expected) << lo << ":" << hi << " [" << a << "," << b << ")";
      EXPECT_EQ(best, expected) << lo << ":" << hi << " [" << a << "," << b << ")";
      on_every_path([&](KernelPath p) {
        Counts simd(expected.size(), 0), chosen(expected.size(), 0);
        add_counts_hwy(s, t, {a, b}, simd);
        add_counts(s, t, {a, b}, chosen);
        EXPECT_EQ(simd, expected) << kernel_path_name(p) << " " << lo << ":" << hi << " [" << a << "," << b << ")";
        EXPECT_EQ(chosen, expected) << kernel_path_name(p);
      });
    }
  }
}

TEST(Histogram, RejectedWordsAreCountedAsTheirReplacements) {
  // Spans whose words are rejected often enough to find (p = 2.3e-4, 2.3e-4, 9.1e-5).
  for (const Range range : {Range{1, 100}, Range{0, 999}, Range{1, 3}}) {
    const FastStream s(42, range);
    int found = 0;
    for (std::uint64_t j = 0; j < 400000 && found < 3; ++j) {
      if (!s.packed_rejects(s.block(3, j / 4)[j % 4])) continue;
      ++found;
      const Index k = s.digits(), a = j * k > 2000 ? j * k - 2000 : 0, b = j * k + 3000;
      const Counts expected = value_by_value(s, 3, {a, b});
      on_every_path([&](KernelPath p) {
        Counts simd(std::size_t(range.span()), 0);
        add_counts_hwy(s, 3, {a, b}, simd);
        EXPECT_EQ(simd, expected) << kernel_path_name(p) << " " << range.hi << " word " << j;
      });
    }
    EXPECT_EQ(found, 3) << range.hi;
  }
}

TEST(Histogram, NumpyChunksAndTailsEqualAcceptedUnitCounts) {
  // Span 65175 rejects 1.5e-5 of its units: 300 000 units hold a few rejections.
  for (const Range range : {Range{1, 100}, Range{-3, 60000}, Range{0, 65174}, Range{LLONG_MAX - 65535, LLONG_MAX}}) {
    const NumpyStream s(99, range);
    const Index a = 13, b = 300'013;
    Counts expected(std::size_t(range.span()), 0);
    std::uint64_t missing = 0;
    for (Index u = a; u < b; ++u) {
      std::uint64_t d = 0;
      if (s.accept(s.unit(2, u), d)) ++expected[d];
      else ++missing;
    }
    if (range.hi == 65174) {
      EXPECT_GT(missing, 0u);
    }
    Counts portable(expected.size(), 0), best(expected.size(), 0);
    add_counts_portable(s, 2, {a, b}, portable);
    add_counts(s, 2, {a, b}, best);
    EXPECT_EQ(portable, expected) << range.hi;
    EXPECT_EQ(best, expected) << range.hi;
    on_every_path([&](KernelPath p) {
      Counts simd(expected.size(), 0);
      add_counts_hwy(s, 2, {a, b}, simd);
      EXPECT_EQ(simd, expected) << kernel_path_name(p) << " " << range.hi;
    });
    // The tail: the next 700 accepted units from unit b on.
    std::uint64_t need = 700;
    for (Index u = b; need > 0; ++u) {
      std::uint64_t d = 0;
      if (s.accept(s.unit(2, u), d)) {
        ++expected[d];
        --need;
      }
    }
    add_tail_counts(s, 2, b, 700, best);
    EXPECT_EQ(best, expected);
  }
}

TEST(Histogram, ChunkCountsAgreeWithChunkSums) {
  for (auto stream : {StreamKind::kFast, StreamKind::kNumpy}) {
    Config c;
    c.stream = stream;
    c.tasks = 2;
    c.samples = 300'007;
    c.chunk = 100'000;
    c.range = {-20, 80};
    const Kernel kernel(c);
    for (ChunkId id = 0; id < c.chunk_count(); ++id) {
      Counts counts(101, 0);
      kernel.count_chunk(id, counts);
      const ChunkSum sum = kernel.sum_chunk(id);
      i128 total = 0;
      std::int64_t n = 0;
      for (std::size_t d = 0; d < counts.size(); ++d) {
        total += i128(c.range.lo + std::int64_t(d)) * counts[d];
        n += counts[d];
      }
      EXPECT_EQ(total, sum.sum) << id;
      EXPECT_EQ(std::uint64_t(n), c.indices_of(id).size() - sum.missing) << id;
    }
  }
}

}  // namespace
}  // namespace tally::core
