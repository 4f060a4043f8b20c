// Time to write (and to load and verify) a checkpoint with 10^6 chunks: the cost that
// --checkpoint-every amortises (docs/performance.md).
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <filesystem>

#include "io/checkpoint.hpp"

namespace {
using namespace tally;

io::RunRecord million_chunk_record() {
  core::Config c;
  c.tasks = 10;
  c.samples = 100'000'000;
  c.chunk = 1000;  // 10 × 10^5 = 10^6 chunks
  io::RunRecord r{core::Ledger(c)};
  for (core::ChunkId id = 0; id < r.ledger.size(); id += 2) r.ledger.record(id, {50'500 + std::int64_t(id % 97), 0});
  r.rank_timing.resize(1);
  return r;
}

void checkpoint_save(benchmark::State& state) {
  const auto dir = std::filesystem::temp_directory_path() / ("tally-ckpt-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const io::CheckpointStore store(dir / "b.ckpt", io::FileLocking::kBestEffort);
  const auto record = million_chunk_record();
  for (auto _ : state) store.save(record);
  state.counters["chunks"] = double(record.ledger.size());
  state.counters["MB"] = double(std::filesystem::file_size(store.path())) / 1e6;
  std::filesystem::remove_all(dir);
}

void checkpoint_load(benchmark::State& state) {
  const auto dir = std::filesystem::temp_directory_path() / ("tally-ckpt-load-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const io::CheckpointStore store(dir / "b.ckpt", io::FileLocking::kBestEffort);
  const auto record = million_chunk_record();
  store.save(record);
  for (auto _ : state) benchmark::DoNotOptimize(store.load(record.ledger.config()));
  std::filesystem::remove_all(dir);
}
}  // namespace

BENCHMARK(checkpoint_save)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(5);
BENCHMARK(checkpoint_load)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(5);
BENCHMARK_MAIN();
