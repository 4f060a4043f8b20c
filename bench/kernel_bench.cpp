// Google Benchmark of the kernels on one thread and of Kernel::sum_chunks on 1 and 2
// threads, range [1, 100]. Same-run ratios to the ceiling and to NumPy come from
// scripts/bench-kernels, which runs this next to them.
#include <benchmark/benchmark.h>

#include "core/kernel.hpp"
#include "core/kernel_fast.hpp"
#include "core/kernel_numpy.hpp"

namespace {
using namespace tally::core;

constexpr Index kDraws = Index{1} << 26;

void fast_avx512(benchmark::State& state) {
  const FastStream s(42, {1, 100});
  if (!cpu_has_avx512()) state.SkipWithError("no AVX-512");
  for (auto _ : state) benchmark::DoNotOptimize(sum_fast_avx512(s, 0, 0, kDraws));
  state.counters["ns_per_number"] = benchmark::Counter(double(kDraws) * 1e-9, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
void fast_portable(benchmark::State& state) {
  const FastStream s(42, {1, 100});
  for (auto _ : state) benchmark::DoNotOptimize(sum_fast_portable(s, 0, 0, kDraws / 8));
  state.counters["ns_per_number"] = benchmark::Counter(double(kDraws / 8) * 1e-9, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
void numpy_avx512(benchmark::State& state) {
  const NumpyStream s(42, {1, 100});
  if (!cpu_has_avx512()) state.SkipWithError("no AVX-512");
  for (auto _ : state) benchmark::DoNotOptimize(sum_numpy_avx512(s, 0, 0, kDraws / 4));
  state.counters["ns_per_number"] = benchmark::Counter(double(kDraws / 4) * 1e-9, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
void numpy_portable(benchmark::State& state) {
  const NumpyStream s(42, {1, 100});
  for (auto _ : state) benchmark::DoNotOptimize(sum_numpy_portable(s, 0, 0, kDraws / 32));
  state.counters["ns_per_number"] = benchmark::Counter(double(kDraws / 32) * 1e-9, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
void threads(benchmark::State& state, StreamKind stream) {
  Config c;
  c.stream = stream;
  c.tasks = 4;
  c.samples = std::int64_t(kDraws);
  c.chunk = 1 << 20;
  const Kernel kernel(c);
  std::vector<ChunkId> ids(c.chunk_count());
  for (ChunkId i = 0; i < ids.size(); ++i) ids[i] = i;
  std::vector<ChunkSum> out(ids.size());
  for (auto _ : state) kernel.sum_chunks(ids, out, int(state.range(0)));
  const double draws = double(c.total_samples());
  state.counters["ns_per_number"] = benchmark::Counter(draws * 1e-9, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
}  // namespace

BENCHMARK(fast_avx512)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(fast_portable)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(numpy_avx512)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(numpy_portable)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(threads, fast, StreamKind::kFast)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(threads, numpy, StreamKind::kNumpy)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_MAIN();
