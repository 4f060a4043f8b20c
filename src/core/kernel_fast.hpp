#pragma once
// Fast-stream sums over [a, b) of one task on one thread: a readable word-at-a-time
// path and the Highway vector kernel (one source, a copy per target, chosen at run
// time), both equal to FastStream::sum_scalar.
#include "core/cpu.hpp"
#include "core/stream_fast.hpp"

namespace tally::core {

/// The path kernel_path() names (cpu.hpp: the best this CPU runs, or TALLY_KERNEL's).
[[nodiscard]] ChunkSum sum_fast(const FastStream& s, TaskId t, Index a, Index b);
/// Portable path: one Philox block at a time, no intrinsics.
[[nodiscard]] ChunkSum sum_fast_portable(const FastStream& s, TaskId t, Index a, Index b);
/// Highway vector kernel on the dispatcher's target (the portable path where that is
/// the scalar baseline).
[[nodiscard]] ChunkSum sum_fast_hwy(const FastStream& s, TaskId t, Index a, Index b);
/// Benchmarks' floor: Philox4x32-10 alone on `blocks` blocks (a multiple of 64) on the
/// dispatcher's target, words xor-ed together.
[[nodiscard]] std::uint64_t philox_floor_hwy(std::uint64_t blocks);

}  // namespace tally::core
