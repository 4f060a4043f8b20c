#pragma once
// Which kernel path this process runs. The vector kernels are written once against
// Highway and compiled for several targets; the dispatcher takes the best one this CPU
// runs, or the one TALLY_KERNEL names (portable|sse4|avx2|avx512|neon|sve|sve2|auto).
// One place decides, so the kernels, the benchmarks and the provenance written into
// files always agree.
#include <cstdint>
#include <string>
#include <vector>

namespace tally::core {

/// The kernel paths, each a group of Highway targets (avx512: AVX3 and AVX3_DL; sve:
/// SVE and SVE_256; sve2: SVE2 and SVE2_128); portable is the scalar definition.
enum class KernelPath { kPortable, kSse4, kAvx2, kAvx512, kNeon, kSve, kSve2 };

/// "portable", "sse4", "avx2", "avx512", "neon", "sve" or "sve2".
[[nodiscard]] const char* kernel_path_name(KernelPath path);
/// The paths this CPU runs and this build carries, best first, portable last.
[[nodiscard]] std::vector<KernelPath> kernel_paths_available();
/// Empty when TALLY_KERNEL is unset, `auto` or a path this CPU runs; else one line that
/// names the problem and the paths this CPU runs (the CLI exits 2 with it).
[[nodiscard]] std::string kernel_choice_problem();
/// The path this process runs: TALLY_KERNEL's when it names an available one, else the
/// best available (so a bad TALLY_KERNEL never changes results, only the CLI refuses it).
[[nodiscard]] KernelPath kernel_path();
/// Its name (for provenance and `tally --version`).
[[nodiscard]] const char* kernel_path_name();
/// Tests and benchmarks: run `path` from now on (it must be available).
void set_kernel_path(KernelPath path);

/// True when this CPU runs the AVX-512 kernels (avx512f, dq, bw, vl).
[[nodiscard]] bool cpu_has_avx512();
/// True when the kernels take a vector path (kernel_path() is not portable).
[[nodiscard]] inline bool simd_allowed() { return kernel_path() != KernelPath::kPortable; }

/// The Highway target the vector kernels dispatch to now (HWY_AVX2, …; tests check it).
[[nodiscard]] std::int64_t hwy_dispatched_target();
/// The Highway targets that make up a path (0 for portable, the scalar definition).
[[nodiscard]] std::int64_t hwy_targets_of(KernelPath path);
/// The Highway targets this build compiled the kernels for (a package build may cap
/// them below what the CPU runs: package.py, TALLY_HWY_DISABLED_TARGETS).
[[nodiscard]] std::int64_t hwy_compiled_targets();

}  // namespace tally::core
