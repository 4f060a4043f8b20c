#pragma once
// Fast-stream sums over [a, b) of one task on one thread: a readable word-at-a-time
// path and SIMD paths selected at run time, all equal to FastStream::sum_scalar.
#include "core/stream_fast.hpp"

namespace tally::core {

/// Best available path for this CPU.
[[nodiscard]] ChunkSum sum_fast(const FastStream& s, TaskId t, Index a, Index b);
/// Portable path: one word at a time, no intrinsics.
[[nodiscard]] ChunkSum sum_fast_portable(const FastStream& s, TaskId t, Index a, Index b);

}  // namespace tally::core
