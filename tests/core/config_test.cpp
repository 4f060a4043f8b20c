// Every refusal of Config::problems(), the parsers, and a fingerprint that is stable
// and changes with every result-defining field.
#include "core/config.hpp"

#include <gtest/gtest.h>

#include "core/error.hpp"

namespace tally::core {
namespace {

bool refuses(const Config& c, const std::string& fragment) {
  for (const auto& p : c.problems())
    if (p.find(fragment) != std::string::npos) return true;
  return false;
}

TEST(Config, DefaultIsTheOriginalProgramAndValid) {
  const Config c;
  EXPECT_EQ(c.tasks, 8);
  EXPECT_EQ(c.samples, 1'000'000);
  EXPECT_EQ(c.range, (Range{1, 100}));
  EXPECT_TRUE(c.problems().empty());
}

TEST(Config, RejectsNonPositiveSizes) {
  Config c;
  c.tasks = 0;
  EXPECT_TRUE(refuses(c, "tasks must be at least 1"));
  c.tasks = -3;
  EXPECT_TRUE(refuses(c, "tasks must be at least 1"));
  c = {};
  c.samples = 0;
  EXPECT_TRUE(refuses(c, "samples must be at least 1"));
  c.samples = -1;
  EXPECT_TRUE(refuses(c, "samples must be at least 1"));
}

TEST(Config, RejectsAnEmptyRange) {
  Config c;
  c.range = {5, 4};
  EXPECT_TRUE(refuses(c, "is empty"));
}

TEST(Config, RejectsAbsurdChunks) {
  Config c;
  c.chunk = 0;
  EXPECT_TRUE(refuses(c, "chunk must be between"));
  c.chunk = (std::int64_t{1} << 40) + 1;
  EXPECT_TRUE(refuses(c, "chunk must be between"));
  c = {};
  c.tasks = 1 << 20;
  c.samples = 1 << 20;
  c.chunk = 1;  // 2^40 chunks
  EXPECT_TRUE(refuses(c, "more than the 2^28"));
}

TEST(Config, AcceptsEveryRangeAndRefusesOnlyTooManyDraws) {
  Config c;
  c.tasks = 4;
  c.samples = std::int64_t{1} << 62;  // 2^64 draws: counts are int64
  EXPECT_TRUE(refuses(c, "exceeds 2^63 - 1 draws"));
  // Sums are 128-bit: totals far beyond 2^63 are accepted.
  c.tasks = 1;
  c.samples = std::int64_t{1} << 57;
  c.chunk = std::int64_t{1} << 40;  // keep the ledger within its bound
  c.range = {1, 100};               // 2^57 · 100 > 2^63
  EXPECT_TRUE(c.problems().empty()) << c.problems().front();
  c.range = {INT64_MIN, INT64_MAX};
  EXPECT_TRUE(c.problems().empty()) << c.problems().front();
  c.range = {-100, -1};
  EXPECT_TRUE(c.problems().empty()) << c.problems().front();
}

TEST(Config, ValidateThrowsAUsageError) {
  Config c;
  c.tasks = 0;
  try {
    c.validate();
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kUsage);
  }
}

TEST(Config, ParsesSeedsUpTo128Bits) {
  EXPECT_EQ(parse_u128("0", "seed"), 0u);
  EXPECT_EQ(parse_u128("0xff", "seed"), 255u);
  EXPECT_EQ(to_string(parse_u128("340282366920938463463374607431768211455", "seed")),
            "340282366920938463463374607431768211455");
  EXPECT_EQ(parse_u128("0xffffffffffffffffffffffffffffffff", "seed"), ~u128{0});
  EXPECT_THROW((void)parse_u128("340282366920938463463374607431768211456", "seed"), Error);
  EXPECT_THROW((void)parse_u128("-1", "seed"), Error);
  EXPECT_THROW((void)parse_u128("12abc", "seed"), Error);
  EXPECT_THROW((void)parse_u128("", "seed"), Error);
  EXPECT_THROW((void)parse_stream("mt19937"), Error);
}

TEST(Config, FingerprintIsStableAndSensitiveToEveryField) {
  const Config base;
  EXPECT_EQ(base.fingerprint(), Config{}.fingerprint());
  EXPECT_EQ(base.fingerprint().size(), 16u);
  std::vector<Config> variants(6, base);
  variants[0].tasks = 9;
  variants[1].samples = 999'999;
  variants[2].range.hi = 101;
  variants[3].seed = u128{1} << 100;
  variants[4].stream = StreamKind::kNumpy;
  variants[5].chunk = 4096;
  for (const auto& v : variants) {
    EXPECT_NE(v.fingerprint(), base.fingerprint()) << v.canonical_text();
    EXPECT_EQ(differing_fields(v, base).size(), 1u) << v.canonical_text();
  }
}

TEST(Config, ChunkGeometryCoversEveryIndexOnce) {
  Config c;
  c.tasks = 3;
  c.samples = 1000;
  c.chunk = 300;
  ASSERT_EQ(c.chunks_per_task(), 4u);
  ASSERT_EQ(c.chunk_count(), 12u);
  EXPECT_EQ(c.task_of(5), 1u);
  EXPECT_EQ(c.indices_of(3).begin, 900u);
  EXPECT_EQ(c.indices_of(3).end, 1000u);
  EXPECT_EQ(c.indices_of(4).begin, 0u);
}

}  // namespace
}  // namespace tally::core
