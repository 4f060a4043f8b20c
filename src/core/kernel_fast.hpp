#pragma once
// Fast-stream sums over [a, b) of one task on one thread: a readable word-at-a-time
// path and an AVX-512 path chosen at run time, both equal to FastStream::sum_scalar.
#include "core/stream_fast.hpp"

namespace tally::core {

/// Best available path for this CPU (TALLY_KERNEL=portable forces the portable one).
[[nodiscard]] ChunkSum sum_fast(const FastStream& s, TaskId t, Index a, Index b);
/// Portable path: one Philox block at a time, no intrinsics.
[[nodiscard]] ChunkSum sum_fast_portable(const FastStream& s, TaskId t, Index a, Index b);
/// AVX-512 path for packed mode (other modes and ragged edges use the portable path).
/// Only call when cpu_has_avx512() is true.
[[nodiscard]] ChunkSum sum_fast_avx512(const FastStream& s, TaskId t, Index a, Index b);

/// True when this CPU runs the AVX-512 kernels (avx512f, dq, bw, vl).
[[nodiscard]] bool cpu_has_avx512();
/// False when TALLY_KERNEL=portable is set: lets tests and benchmarks pin a path.
[[nodiscard]] bool simd_allowed();
/// The kernel path this process uses: "avx512" or "portable" (recorded in files).
[[nodiscard]] const char* kernel_path_name();

}  // namespace tally::core
