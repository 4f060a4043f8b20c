#pragma once
// Which kernel path this process runs: the AVX-512 kernels when the CPU has them and
// TALLY_KERNEL=portable does not pin the portable path. One place decides, so the
// kernels, the benchmarks and the provenance written into files always agree.
namespace tally::core {

/// True when this CPU runs the AVX-512 kernels (avx512f, dq, bw, vl).
[[nodiscard]] bool cpu_has_avx512();
/// False when TALLY_KERNEL=portable is set: lets tests and benchmarks pin a path.
[[nodiscard]] bool simd_allowed();
/// True when the kernels take their AVX-512 paths: cpu_has_avx512() && simd_allowed().
[[nodiscard]] inline bool use_avx512() { return simd_allowed() && cpu_has_avx512(); }
/// "avx512" or "portable": the path the kernels take in this process (for provenance).
[[nodiscard]] const char* kernel_path_name();

/// How a vector kernel treats rejected draws: kRare adds every lane and corrects the
/// rejected ones out of line (cheap when they are rare), kMasked masks them in the loop.
/// kAuto picks by the span's rejection rate; tests force each path on every span.
enum class RejectPath { kAuto, kRare, kMasked };

}  // namespace tally::core
