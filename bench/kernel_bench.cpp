// Google Benchmark of the kernels on one thread and of Kernel::sum_chunks on 1 and 2
// threads, range [1, 100], and the span table: both streams' dispatched kernels
// (Kernel::sum, what a run executes) over spans from 2 to the full int64 range.
// Same-run ratios to the ceiling and to NumPy come from scripts/bench-kernels, which
// runs this next to them.
#include <benchmark/benchmark.h>

#include <climits>
#include <vector>
#include <string>

#include "core/histogram.hpp"
#include "core/kernel.hpp"
#include "core/kernel_fast.hpp"
#include "core/kernel_numpy.hpp"

namespace {
using namespace tally::core;

constexpr Index kDraws = Index{1} << 26;

void fast_portable(benchmark::State& state) {
  const FastStream s(42, {1, 100});
  for (auto _ : state) benchmark::DoNotOptimize(sum_fast_portable(s, 0, 0, kDraws / 8));
  state.counters["ns_per_number"] = benchmark::Counter(double(kDraws / 8) * 1e-9, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
void numpy_portable(benchmark::State& state) {
  const NumpyStream s(42, {1, 100});
  for (auto _ : state) benchmark::DoNotOptimize(sum_numpy_portable(s, 0, 0, kDraws / 32));
  state.counters["ns_per_number"] = benchmark::Counter(double(kDraws / 32) * 1e-9, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
/// Forces `path` for the benchmark, then puts back the process's path.
struct ForcedPath {
  KernelPath before = kernel_path();
  explicit ForcedPath(KernelPath p) { set_kernel_path(p); }
  ~ForcedPath() { set_kernel_path(before); }
  ForcedPath(const ForcedPath&) = delete;
  ForcedPath& operator=(const ForcedPath&) = delete;
};
/// The Highway kernels on each path: fast_hwy/<path>, numpy_hwy/<path>, philox_hwy/<path>
/// (the floor, ns per block).
void fast_hwy(benchmark::State& state, KernelPath p) {
  const ForcedPath forced(p);
  const FastStream s(42, {1, 100});
  for (auto _ : state) benchmark::DoNotOptimize(sum_fast_hwy(s, 0, 0, kDraws));
  state.counters["ns_per_number"] = benchmark::Counter(double(kDraws) * 1e-9, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
void numpy_hwy(benchmark::State& state, KernelPath p) {
  const ForcedPath forced(p);
  const NumpyStream s(42, {1, 100});
  for (auto _ : state) benchmark::DoNotOptimize(sum_numpy_hwy(s, 0, 0, kDraws / 4));
  state.counters["ns_per_number"] = benchmark::Counter(double(kDraws / 4) * 1e-9, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
void philox_hwy(benchmark::State& state, KernelPath p) {
  const ForcedPath forced(p);
  const std::uint64_t blocks = std::uint64_t{1} << 22;
  for (auto _ : state) benchmark::DoNotOptimize(philox_floor_hwy(blocks));
  state.counters["ns_per_number"] = benchmark::Counter(double(blocks) * 1e-9, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
void register_paths() {
  for (KernelPath p : kernel_paths_available()) {
    if (p == KernelPath::kPortable) continue;
    const std::string name = kernel_path_name(p);
    benchmark::RegisterBenchmark(("fast_hwy/" + name).c_str(), fast_hwy, p)->Unit(benchmark::kMillisecond)->UseRealTime();
    benchmark::RegisterBenchmark(("numpy_hwy/" + name).c_str(), numpy_hwy, p)->Unit(benchmark::kMillisecond)->UseRealTime();
    benchmark::RegisterBenchmark(("philox_hwy/" + name).c_str(), philox_hwy, p)->Unit(benchmark::kMillisecond)->UseRealTime();
  }
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


/// The spans of the table in docs/performance.md, as ranges [0, s − 1] (full int64 for 2^64).
struct SpanCase {
  const char* label;
  std::int64_t lo, hi;
};
constexpr SpanCase kSpans[] = {{"2", 0, 1},
                               {"100", 1, 100},
                               {"1000", 0, 999},
                               {"2^16", 0, (1LL << 16) - 1},
                               {"2^20", 0, (1LL << 20) - 1},
                               {"2^20+1", 0, 1LL << 20},
                               {"2^32", 0, (1LL << 32) - 1},
                               {"2^40", 0, (1LL << 40) - 1},
                               {"2^63", 0, LLONG_MAX},
                               {"2^64", LLONG_MIN, LLONG_MAX},
                               // Beyond the list: a one-digit packed span that is not
                               // a power of two, a wide one past 2^32 that is not (the list's
                               // others take wide mode's shift path), and a span rejecting 46 %
                               // of wide draws.
                               {"10^5", 0, 99'999},
                               {"10^12", 0, 999'999'999'999},
                               {"10^19", -5'000'000'000'000'000'000LL, 4'999'999'999'999'999'999LL}};

/// ns per number of Kernel::sum over `draws` values (raw units for numpy) of task 0.
void span(benchmark::State& state, StreamKind stream, SpanCase span_case, Index draws) {
  Config c;
  c.stream = stream;
  c.tasks = 1;
  c.samples = std::int64_t(draws);
  c.chunk = std::int64_t(draws);
  c.range = {span_case.lo, span_case.hi};
  const Kernel kernel(c);
  for (auto _ : state) benchmark::DoNotOptimize(kernel.sum(0, {0, draws}));
  state.counters["ns_per_number"] = benchmark::Counter(double(draws) * 1e-9, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

/// Tails of a numpy run with span 2^31 + 1 (NumPy rejects almost half of the units):
/// 4 tasks of 2^24 samples, ns per tail value. `how`: 0 the former unit-at-a-time loop
/// (a Philox block per unit), 1 NumpyStream::tail (block by block), 2 Kernel::tails.
void tails(benchmark::State& state, int how) {
  Config c;
  c.stream = StreamKind::kNumpy;
  c.tasks = 4;
  c.samples = std::int64_t{1} << 24;
  c.chunk = c.samples;
  c.range = {0, std::int64_t{1} << 31};
  const Kernel kernel(c);
  const NumpyStream stream(c.seed, c.range);
  std::vector<TaskId> tasks{0, 1, 2, 3};
  std::vector<std::uint64_t> missing;
  double values = 0;
  for (TaskId t : tasks) {
    missing.push_back(kernel.sum(t, {0, Index(c.samples)}).missing);
    values += double(missing.back());
  }
  std::vector<i128> out(tasks.size());
  for (auto _ : state) {
    if (how == 2) {
      kernel.tails(tasks, missing, out, int(state.range(0)));
    } else {
      for (std::size_t i = 0; i < tasks.size(); ++i) {
        if (how == 1) {
          out[i] = stream.tail(tasks[i], Index(c.samples), missing[i]);
          continue;
        }
        i128 sum = 0;
        std::uint64_t need = missing[i];
        for (Index u = Index(c.samples); need > 0; ++u) {
          std::uint64_t d = 0;
          if (stream.accept(stream.unit(tasks[i], u), d)) {
            sum += c.range.lo + std::int64_t(d);
            --need;
          }
        }
        out[i] = sum;
      }
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["ns_per_number"] = benchmark::Counter(values * 1e-9, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

/// `tally run --histogram` cost: ns per draw of add_counts (the dispatched path; with
/// `portable`, the word-by-word definition the histogram used before) on one thread,
/// 2^24 draws of [0, s − 1].
void histogram(benchmark::State& state, StreamKind stream, std::int64_t span, bool portable = false) {
  const Range range{0, span - 1};
  const Index draws = Index{1} << 24;
  std::vector<std::int64_t> counts(std::size_t(span), 0);
  const FastStream fast(42, range);
  const NumpyStream numpy(42, range);
  for (auto _ : state) {
    if (stream == StreamKind::kFast && portable) add_counts_portable(fast, 0, {0, draws}, counts);
    else if (stream == StreamKind::kFast) add_counts(fast, 0, {0, draws}, counts);
    else if (portable) add_counts_portable(numpy, 0, {0, draws}, counts);
    else add_counts(numpy, 0, {0, draws}, counts);
    benchmark::DoNotOptimize(counts.data());
  }
  state.counters["ns_per_number"] = benchmark::Counter(double(draws) * 1e-9, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

void register_spans() {
  for (const auto& sc : kSpans) {
    benchmark::RegisterBenchmark((std::string("span/fast/") + sc.label).c_str(), span, StreamKind::kFast, sc, Index{1} << 24)
        ->Unit(benchmark::kMillisecond)->UseRealTime();
    benchmark::RegisterBenchmark((std::string("span/numpy/") + sc.label).c_str(), span, StreamKind::kNumpy, sc, Index{1} << 23)
        ->Unit(benchmark::kMillisecond)->UseRealTime();
  }
}
}  // namespace

BENCHMARK(fast_portable)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(numpy_portable)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(threads, fast, StreamKind::kFast)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(threads, numpy, StreamKind::kNumpy)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(histogram, fast/2, StreamKind::kFast, 2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(histogram, fast/100, StreamKind::kFast, 100)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(histogram, fast/256, StreamKind::kFast, 256)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(histogram, fast/2^16, StreamKind::kFast, 1 << 16)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(histogram, fast_portable/100, StreamKind::kFast, 100, true)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(histogram, numpy/100, StreamKind::kNumpy, 100)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(histogram, numpy_portable/100, StreamKind::kNumpy, 100, true)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(tails, unit_at_a_time, 0)->Arg(1)->Iterations(1)->Repetitions(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(tails, block_by_block, 1)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(tails, kernel, 2)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

int main(int argc, char** argv) {
  register_paths();
  register_spans();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
