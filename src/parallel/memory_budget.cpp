#include "parallel/memory_budget.hpp"

#include <fmt/core.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>

#include "core/error.hpp"
#include "parallel/scheduler.hpp"

namespace tally::parallel {

namespace {
constexpr std::uint64_t kBytesPerChunk = 80;  // 72 measured
constexpr std::uint64_t kBytesPerTask = 32;   // 24 measured
constexpr std::uint64_t kFixedBytes = std::uint64_t{64} << 20;  // buffers, HDF5, OpenMP stacks

std::uint64_t saturating_mul(std::uint64_t a, std::uint64_t b) {
  std::uint64_t out = 0;
  return __builtin_mul_overflow(a, b, &out) ? UINT64_MAX : out;
}

std::uint64_t saturating_add(std::uint64_t a, std::uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }

/// A "Key:   123 kB" line of /proc/meminfo or /proc/self/status, in bytes.
std::optional<std::uint64_t> kb_field(const char* file, const std::string& key) {
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) != 0) continue;
    std::istringstream fields(line.substr(key.size() + 1));
    std::uint64_t kb = 0;
    if (fields >> kb) return kb * 1024;
  }
  return std::nullopt;
}

/// A cgroup v2 file holding one number ("max": no limit).
std::optional<std::uint64_t> cgroup_number(const char* name) {
  std::ifstream in(std::string("/sys/fs/cgroup/") + name);
  std::string text;
  if (!(in >> text) || text == "max") return std::nullopt;
  try {
    return std::stoull(text);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::string gib(std::uint64_t bytes) { return fmt::format("{:.1f} GiB", double(bytes) / double(1ull << 30)); }
}  // namespace

std::uint64_t histogram_batch_bytes(const core::Config& config, int threads) {
  const auto t = std::uint64_t(std::max(threads, 1));
  const core::u128 span = config.range.span();
  if (span > UINT64_MAX) return UINT64_MAX;
  // A batch is one chunk (one task) or at most the scheduler's draws per thread, which
  // touch at most draws / samples + 2 tasks.
  const std::uint64_t max_draws = saturating_mul(Scheduler::kMaxBatchDrawsPerThread, t);
  const std::uint64_t rows =
      std::min<std::uint64_t>(std::uint64_t(config.tasks), max_draws / std::uint64_t(std::max<std::int64_t>(config.samples, 1)) + 2);
  return saturating_mul(saturating_mul(t + 2, rows), saturating_mul(std::uint64_t(span), sizeof(std::int64_t)));
}

std::uint64_t estimated_ledger_bytes(const core::Config& config, bool histogram, int threads) {
  std::uint64_t bytes = saturating_add(saturating_mul(config.chunk_count(), kBytesPerChunk),
                                       saturating_mul(std::uint64_t(config.tasks), kBytesPerTask));
  if (histogram) {
    const core::u128 span = config.range.span();
    const std::uint64_t cells = span > UINT64_MAX ? UINT64_MAX : saturating_mul(std::uint64_t(config.tasks), std::uint64_t(span));
    bytes = saturating_add(bytes, saturating_mul(cells, 2 * sizeof(std::int64_t)));
    bytes = saturating_add(bytes, histogram_batch_bytes(config, threads));
  }
  return saturating_add(bytes, kFixedBytes);
}

std::optional<std::uint64_t> available_memory_bytes() {
  std::optional<std::uint64_t> out = kb_field("/proc/meminfo", "MemAvailable");
  const auto take = [&out](std::uint64_t v) { out = out ? std::min(*out, v) : v; };
  if (auto limit = cgroup_number("memory.max")) {
    const std::uint64_t used = cgroup_number("memory.current").value_or(0);
    take(*limit > used ? *limit - used : 0);
  }
  rlimit as{};
  if (getrlimit(RLIMIT_AS, &as) == 0 && as.rlim_cur != RLIM_INFINITY) {
    const std::uint64_t mapped = kb_field("/proc/self/status", "VmSize").value_or(0);
    take(as.rlim_cur > mapped ? as.rlim_cur - mapped : 0);
  }
  return out;
}

void check_memory_budget(const core::Config& config, bool histogram, int threads) {
  const std::uint64_t need = estimated_ledger_bytes(config, histogram, threads);
  const auto available = available_memory_bytes();
  if (!available || need <= *available) return;
  throw usage_error(fmt::format(
      "{} tasks in {} chunks need about {} of memory on rank 0 (about {} bytes per chunk and {} per task{}), "
      "but {} is available; {}",
      config.tasks, config.chunk_count(), gib(need), kBytesPerChunk, kBytesPerTask,
      histogram ? ", plus the histogram and each thread's copy of a batch's rows" : "", gib(*available),
      // Every task is at least one chunk: when it is exactly one, no --chunk helps.
      config.chunk_count() == std::uint64_t(config.tasks) ? "use fewer tasks" : "use a larger --chunk or fewer tasks"));
}

}  // namespace tally::parallel
