#include "core/cpu.hpp"

#include <hwy/targets.h>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <string_view>

namespace tally::core {

namespace {

constexpr KernelPath kAllPaths[] = {KernelPath::kSve2, KernelPath::kSve,  KernelPath::kAvx512, KernelPath::kAvx2,
                                    KernelPath::kSse4, KernelPath::kNeon, KernelPath::kPortable};

/// Targets this CPU runs and this build compiled the kernels for (HWY_TARGETS is the
/// same here as in the *_hwy.cpp files: one compile definition sets it for the library).
/// Read once, before anything narrows the set.
std::int64_t cpu_targets() {
  static const std::int64_t targets = hwy::SupportedTargets() & HWY_TARGETS;
  return targets;
}

std::optional<KernelPath> parse(std::string_view name) {
  for (KernelPath p : kAllPaths)
    if (name == kernel_path_name(p)) return p;
  return std::nullopt;
}

bool available(KernelPath path) {
  return path == KernelPath::kPortable || (hwy_targets_of(path) & cpu_targets()) != 0;
}

std::atomic<int> chosen{-1};  // a KernelPath once decided
std::once_flag decided;

void apply(KernelPath path) {
  (void)cpu_targets();  // read the CPU's set before narrowing it
  // Highway dispatches to the best target it is not told to skip: skip all but the path's.
  hwy::DisableTargets(path == KernelPath::kPortable ? 0 : ~hwy_targets_of(path));
  chosen.store(int(path));
}

/// TALLY_KERNEL's path when it names an available one, else the best available.
void decide() {
  std::call_once(decided, [] {
    const char* choice = std::getenv("TALLY_KERNEL");
    const auto wanted = choice == nullptr ? std::nullopt : parse(choice);
    apply(wanted && available(*wanted) ? *wanted : kernel_paths_available().front());
  });
}

}  // namespace

std::int64_t hwy_targets_of(KernelPath path) {
  switch (path) {
    case KernelPath::kPortable: return 0;
    case KernelPath::kSse4: return HWY_SSE4;
    case KernelPath::kAvx2: return HWY_AVX2;
    case KernelPath::kAvx512: return HWY_AVX3 | HWY_AVX3_DL;
    case KernelPath::kNeon: return HWY_NEON;
    case KernelPath::kSve: return HWY_SVE | HWY_SVE_256;
    case KernelPath::kSve2: return HWY_SVE2 | HWY_SVE2_128;
  }
  return 0;
}

std::int64_t hwy_compiled_targets() { return HWY_TARGETS; }

const char* kernel_path_name(KernelPath path) {
  switch (path) {
    case KernelPath::kPortable: return "portable";
    case KernelPath::kSse4: return "sse4";
    case KernelPath::kAvx2: return "avx2";
    case KernelPath::kAvx512: return "avx512";
    case KernelPath::kNeon: return "neon";
    case KernelPath::kSve: return "sve";
    case KernelPath::kSve2: return "sve2";
  }
  return "portable";
}

std::vector<KernelPath> kernel_paths_available() {
  std::vector<KernelPath> out;
  for (KernelPath p : kAllPaths)
    if (available(p)) out.push_back(p);
  return out;
}

std::string kernel_choice_problem() {
  const char* choice = std::getenv("TALLY_KERNEL");
  if (choice == nullptr || std::string_view(choice) == "auto") return {};
  const auto path = parse(choice);
  if (path && available(*path)) return {};
  std::string paths;
  for (KernelPath p : kernel_paths_available()) paths += std::string(paths.empty() ? "" : ", ") + kernel_path_name(p);
  return std::string("TALLY_KERNEL=") + choice + (path ? " is not a path this CPU runs" : " is not a kernel path") +
         "; this CPU runs: " + paths + " (or auto)";
}

void set_kernel_path(KernelPath path) {
  decide();
  apply(available(path) ? path : kernel_paths_available().front());
}

KernelPath kernel_path() {
  decide();
  return KernelPath(chosen.load());
}

const char* kernel_path_name() { return kernel_path_name(kernel_path()); }

bool cpu_has_avx512() {
#if defined(__x86_64__) || defined(__i386__)
  static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
                          __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
  return has;
#else
  return false;
#endif
}

}  // namespace tally::core
