#pragma once
// Numpy-stream sums over raw units [a, b) of one task on one thread: a readable
// block-at-a-time path and SIMD paths selected at run time, all equal to
// NumpyStream::sum_scalar.
#include "core/stream_numpy.hpp"

namespace tally::core {

/// Best available path for this CPU.
[[nodiscard]] ChunkSum sum_numpy(const NumpyStream& s, TaskId t, Index a, Index b);
/// Portable path: one block at a time, no intrinsics.
[[nodiscard]] ChunkSum sum_numpy_portable(const NumpyStream& s, TaskId t, Index a, Index b);

}  // namespace tally::core
