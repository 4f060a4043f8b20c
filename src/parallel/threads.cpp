#include "parallel/threads.hpp"

#include <sched.h>

#include <algorithm>
#include <cstdlib>
#include <string>

#include <fmt/core.h>

#include "core/error.hpp"

namespace tally::parallel {

namespace {
/// The variable's positive value, 0 when unset or not a positive number; a usage Error
/// above kMaxThreads (strtol saturates, so 10^30 is refused too, not wrapped).
int positive_env(const char* name) {
  const char* text = std::getenv(name);
  if (text == nullptr) return 0;
  char* end = nullptr;
  const long value = std::strtol(text, &end, 10);  // "4,2" (nested OMP lists) reads as 4
  if (end == text || value <= 0) return 0;
  if (value > kMaxThreads)
    throw usage_error(fmt::format("{}={} asks for more threads than a rank may use (at most {}); "
                                  "set it lower or give --threads",
                                  name, text, kMaxThreads));
  return int(value);
}
}  // namespace

int default_threads() {
  if (int n = positive_env("OMP_NUM_THREADS")) return n;
  if (int n = positive_env("SLURM_CPUS_PER_TASK")) return n;
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return std::min(n, kMaxThreads);
  }
  return 1;
}

}  // namespace tally::parallel
