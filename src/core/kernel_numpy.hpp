#pragma once
// Numpy-stream sums over raw units [a, b) of one task on one thread: a block-at-a-time
// portable path and the Highway vector kernel (one source, a copy per target, chosen at
// run time), both equal to NumpyStream::sum_scalar.
#include "core/cpu.hpp"
#include "core/stream_numpy.hpp"

namespace tally::core {

/// The path kernel_path() names (cpu.hpp: the best this CPU runs, or TALLY_KERNEL's).
[[nodiscard]] ChunkSum sum_numpy(const NumpyStream& s, TaskId t, Index a, Index b);
/// Portable path: one Philox block at a time, no intrinsics.
[[nodiscard]] ChunkSum sum_numpy_portable(const NumpyStream& s, TaskId t, Index a, Index b);
/// Highway vector kernel on the dispatcher's target, every mode (ragged edges use the
/// portable path).
[[nodiscard]] ChunkSum sum_numpy_hwy(const NumpyStream& s, TaskId t, Index a, Index b);

}  // namespace tally::core
