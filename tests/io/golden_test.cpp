// Pinned values (issue 13.9): tally's fingerprint, digest payload (format 1 and 2) and
// seal must equal tests/data/golden.txt, which tests/io/golden_oracle.py computes from
// the documented rules without tally's code. A change to canonical_text() or to the
// digest payload would orphan every checkpoint in the field: it fails here first.
// The checked-in checkpoints (format 1 and 2) must still read as sealed and matching.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "io/digest.hpp"
#include "io/results_file.hpp"
#include "io/seal.hpp"
#include "io_test_support.hpp"

namespace tally::io {
namespace {

namespace fs = std::filesystem;

fs::path source_dir() {
  const char* dir = std::getenv("TALLY_SOURCE_DIR");
  return dir != nullptr ? fs::path(dir) : fs::path(TALLY_TEST_SOURCE_DIR);
}

std::map<std::string, std::string> golden() {
  std::ifstream in(source_dir() / "tests" / "data" / "golden.txt");
  std::map<std::string, std::string> out;
  for (std::string line; std::getline(in, line);)
    if (!line.empty() && line[0] != '#') out[line.substr(0, line.find('='))] = line.substr(line.find('=') + 1);
  return out;
}

// The same synthetic record as golden_oracle.py.
core::Config golden_config() {
  core::Config c;
  c.stream = core::StreamKind::kNumpy;
  c.seed = (core::u128{1} << 100) + 7;
  c.tasks = 2;
  c.samples = 10;
  c.range = {-3, -2};
  c.chunk = 4;
  return c;
}

RunRecord golden_record() {
  RunRecord r{core::Ledger(golden_config())};
  r.ledger.record(0, {-7, 0});
  r.ledger.record(2, {(core::i128{1} << 64) + 3, 1});
  r.ledger.record(3, {-(core::i128{1} << 70), 2});
  r.ledger.record(4, {12345, 0});
  r.status = "partial";
  r.restarts = 3;
  r.elapsed_seconds = 12.5;
  r.histogram = {4, 0, 7, 1};
  return r;
}

TEST(Golden, FingerprintAndCanonicalTextArePinned) {
  const auto g = golden();
  ASSERT_FALSE(g.empty()) << "tests/data/golden.txt not found under " << source_dir();
  EXPECT_EQ(golden_config().canonical_text(), g.at("canonical_text"));
  EXPECT_EQ(golden_config().fingerprint(), g.at("fingerprint"));
}

TEST(Golden, DigestPayloadsOfBothFormatsArePinned) {
  const auto g = golden();
  ASSERT_FALSE(g.empty());
  const RunRecord r = golden_record();
  EXPECT_EQ(record_digest(r, 1), g.at("digest_v1"));
  EXPECT_EQ(record_digest(r, 2), g.at("digest_v2"));
}

TEST(Golden, SealIsPinned) {
  const auto g = golden();
  ASSERT_FALSE(g.empty());
  const auto dir = testing::scratch_dir("golden-seal");
  const auto path = dir / "sealed.bin";
  {
    std::ofstream out(path, std::ios::binary);
    out << std::string(kSealBytes, '\0');
    for (int i = 0; i < 10; ++i) out << "tally golden payload\n";
  }
  write_seal(path);
  EXPECT_EQ(seal_problem(path), "");
  std::ifstream in(path, std::ios::binary);
  std::string header(kSealBytes, '\0');
  in.read(header.data(), std::streamsize(header.size()));
  header.resize(header.find('\0'));
  const std::string& escaped = g.at("seal");  // golden.txt writes each newline as \n
  std::string expected;
  for (std::size_t i = 0; i < escaped.size(); ++i) {
    if (escaped.compare(i, 2, "\\n") == 0) {
      expected += '\n';
      ++i;
    } else {
      expected += escaped[i];
    }
  }
  EXPECT_EQ(header, expected);
  fs::remove_all(dir);
}

TEST(Golden, CheckedInCheckpointsOfBothFormatsStillReadSealedAndMatching) {
  for (const char* name : {"v1-checkpoint-fast.ckpt", "v2-checkpoint-wide.ckpt"}) {
    const auto path = source_dir() / "tests" / "data" / name;
    const TallyFile f = read_tally_file(path, FileLocking::kOff);
    EXPECT_TRUE(f.sealed) << name;
    EXPECT_EQ(f.digest_problem, "") << name;
    EXPECT_EQ(f.stored.filetype, "tally-checkpoint") << name;
    EXPECT_EQ(f.record.format_version, name[1] - '0') << name;
    EXPECT_EQ(f.stored.total, f.record.ledger.total_sum()) << name;
  }
}

}  // namespace
}  // namespace tally::io
