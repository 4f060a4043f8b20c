#pragma once
// Fast-stream sums over [a, b) of one task on one thread: a readable word-at-a-time
// path and an AVX-512 path chosen at run time, both equal to FastStream::sum_scalar.
#include "core/cpu.hpp"
#include "core/stream_fast.hpp"

namespace tally::core {

/// Best available path for this CPU (TALLY_KERNEL=portable forces the portable one).
[[nodiscard]] ChunkSum sum_fast(const FastStream& s, TaskId t, Index a, Index b);
/// Portable path: one Philox block at a time, no intrinsics.
[[nodiscard]] ChunkSum sum_fast_portable(const FastStream& s, TaskId t, Index a, Index b);
/// AVX-512 path for packed and wide mode (ragged edges use the portable path).
/// Only call when cpu_has_avx512() is true.
[[nodiscard]] ChunkSum sum_fast_avx512(const FastStream& s, TaskId t, Index a, Index b,
                                       RejectPath path = RejectPath::kAuto);

}  // namespace tally::core
