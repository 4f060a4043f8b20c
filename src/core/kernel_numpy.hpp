#pragma once
// Numpy-stream sums over raw units [a, b) of one task on one thread: a block-at-a-time
// portable path and an AVX-512 path chosen at run time, both equal to
// NumpyStream::sum_scalar.
#include "core/cpu.hpp"
#include "core/stream_numpy.hpp"

namespace tally::core {

/// Best available path for this CPU (TALLY_KERNEL=portable forces the portable one).
[[nodiscard]] ChunkSum sum_numpy(const NumpyStream& s, TaskId t, Index a, Index b);
/// Portable path: one Philox block at a time, no intrinsics.
[[nodiscard]] ChunkSum sum_numpy_portable(const NumpyStream& s, TaskId t, Index a, Index b);
/// AVX-512 path for every mode (ragged edges use the portable path); only when
/// cpu_has_avx512().
[[nodiscard]] ChunkSum sum_numpy_avx512(const NumpyStream& s, TaskId t, Index a, Index b,
                                        RejectPath path = RejectPath::kAuto);

}  // namespace tally::core
