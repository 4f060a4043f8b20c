#pragma once
// Opt-in per-task value counts (`tally run --histogram`): how often each value of a
// small span was drawn. Counts are exact and layout-free: every path counts exactly the
// values of the streams' definitions. Both streams have a vector path (values from the
// Highway kernels, scalar counting into several tables); the portable paths are the
// readable definition the tests hold them against (docs/performance.md has the costs).
#include <cstdint>
#include <span>
#include <string>

#include "core/config.hpp"
#include "core/cpu.hpp"

namespace tally::core {

/// Largest span a histogram is kept for, and largest tasks × span.
inline constexpr std::uint64_t kMaxHistogramSpan = std::uint64_t{1} << 16;
inline constexpr std::uint64_t kMaxHistogramCells = std::uint64_t{1} << 26;

/// Empty when `config` allows a histogram, else the reason (for a usage error).
[[nodiscard]] std::string histogram_problem(const Config& config);

class FastStream;
class NumpyStream;

/// Adds the counts of values [r.begin, r.end) of task t to `counts` (one per value lo…hi),
/// on the path kernel_path() names (cpu.hpp).
void add_counts(const FastStream& s, TaskId t, IndexRange r, std::span<std::int64_t> counts);
/// Portable path: word by word from the scalar definition.
void add_counts_portable(const FastStream& s, TaskId t, IndexRange r, std::span<std::int64_t> counts);
/// Vector path on the dispatcher's target (packed mode; edges and other modes go to the
/// portable path).
void add_counts_hwy(const FastStream& s, TaskId t, IndexRange r, std::span<std::int64_t> counts);
/// Numpy stream: accepted units of raw units [r.begin, r.end), on the best path.
void add_counts(const NumpyStream& s, TaskId t, IndexRange r, std::span<std::int64_t> counts);
/// Portable path: block by block from the scalar definition.
void add_counts_portable(const NumpyStream& s, TaskId t, IndexRange r, std::span<std::int64_t> counts);
/// Vector path on the dispatcher's target (edges go to the portable path).
void add_counts_hwy(const NumpyStream& s, TaskId t, IndexRange r, std::span<std::int64_t> counts);
/// Numpy stream: the task's tail, the first `missing` accepted units from unit n on.
void add_tail_counts(const NumpyStream& s, TaskId t, Index n, std::uint64_t missing, std::span<std::int64_t> counts);

}  // namespace tally::core
