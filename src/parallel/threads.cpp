#include "parallel/threads.hpp"

#include <sched.h>

#include <cstdlib>
#include <string>

namespace tally::parallel {

namespace {
int positive_env(const char* name) {
  const char* text = std::getenv(name);
  if (text == nullptr) return 0;
  char* end = nullptr;
  const long value = std::strtol(text, &end, 10);  // "4,2" (nested OMP lists) reads as 4
  return (end != text && value > 0 && value < 1 << 16) ? int(value) : 0;
}
}  // namespace

int default_threads() {
  if (int n = positive_env("OMP_NUM_THREADS")) return n;
  if (int n = positive_env("SLURM_CPUS_PER_TASK")) return n;
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  return 1;
}

}  // namespace tally::parallel
