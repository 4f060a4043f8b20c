#include "core/cpu.hpp"

#include <cstdlib>
#include <cstring>

namespace tally::core {

bool cpu_has_avx512() {
#if !defined(__x86_64__)
  return false;  // other CPUs (the aarch64 cross build) have no AVX-512
#else
  static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
                          __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
  return has;
#endif
}

bool simd_allowed() {
  static const bool allowed = [] {
    const char* choice = std::getenv("TALLY_KERNEL");
    return choice == nullptr || std::strcmp(choice, "portable") != 0;
  }();
  return allowed;
}

const char* kernel_path_name() { return use_avx512() ? "avx512" : "portable"; }

}  // namespace tally::core
