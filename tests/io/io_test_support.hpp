#pragma once
// A real, small run record for io tests: every chunk computed by the real kernel.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "core/kernel.hpp"
#include "io/run_record.hpp"

namespace tally::io::testing {

inline io::RunRecord computed_record(core::StreamKind stream, bool complete, bool histogram = false) {
  core::Config c;
  c.stream = stream;
  c.tasks = 3;
  c.samples = 5000;
  c.chunk = 700;
  c.seed = 77;
  const core::Kernel kernel(c);
  io::RunRecord r{core::Ledger(c)};
  for (core::ChunkId id = 0; id < r.ledger.size(); ++id)
    if (complete || id % 3 != 1) r.ledger.record(id, kernel.sum_chunk(id));
  if (histogram) {
    r.histogram.assign(std::size_t(c.tasks) * 100, 0);
    for (core::ChunkId id = 0; id < r.ledger.size(); ++id)
      if (r.ledger.done(id))
        kernel.count_chunk(id, std::span(r.histogram).subspan(c.task_of(id) * 100, 100));
  }
  r.ledger.finish_tails(kernel);
  r.status = complete ? "complete" : "partial";
  r.ranks = 2;
  r.threads = 3;
  r.wall_seconds = 1.5;
  r.elapsed_seconds = 4.25;
  r.restarts = 2;
  r.rank_timing = {{10, 0.5, 1e9}, {11, 0.6, 1.1e9}};
  return r;
}

/// A file's bytes (through rdbuf: g++ 12 warns -Wnull-dereference inside istreambuf_iterator).
inline std::string file_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return std::move(bytes).str();
}

inline std::filesystem::path scratch_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("tally-io-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

inline void expect_same_results(const io::RunRecord& a, const io::RunRecord& b) {
  ASSERT_EQ(a.ledger.config(), b.ledger.config());
  EXPECT_EQ(a.ledger.done_flags(), b.ledger.done_flags());
  EXPECT_EQ(a.ledger.chunks(), b.ledger.chunks());
  EXPECT_EQ(a.ledger.total_sum(), b.ledger.total_sum());
  for (core::TaskId t = 0; t < core::TaskId(a.ledger.config().tasks); ++t) {
    EXPECT_EQ(a.ledger.task_sum(t), b.ledger.task_sum(t));
    EXPECT_EQ(a.ledger.task_count(t), b.ledger.task_count(t));
  }
  EXPECT_EQ(a.histogram, b.histogram);
}

}  // namespace tally::io::testing
