#pragma once
// Opt-in per-task value counts (`tally run --histogram`): how often each value of a
// small span was drawn. Counted from the streams' scalar definitions, value by value,
// so it is exact and layout-free but costs far more than a sum (docs/performance.md).
#include <cstdint>
#include <span>
#include <string>

#include "core/config.hpp"

namespace tally::core {

/// Largest span a histogram is kept for, and largest tasks × span.
inline constexpr std::uint64_t kMaxHistogramSpan = std::uint64_t{1} << 16;
inline constexpr std::uint64_t kMaxHistogramCells = std::uint64_t{1} << 26;

/// Empty when `config` allows a histogram, else the reason (for a usage error).
[[nodiscard]] std::string histogram_problem(const Config& config);

class FastStream;
class NumpyStream;

/// Adds the counts of values [r.begin, r.end) of task t to `counts` (one per value lo…hi).
void add_counts(const FastStream& s, TaskId t, IndexRange r, std::span<std::int64_t> counts);
/// Numpy stream: accepted units of raw units [r.begin, r.end).
void add_counts(const NumpyStream& s, TaskId t, IndexRange r, std::span<std::int64_t> counts);
/// Numpy stream: the task's tail, the first `missing` accepted units from unit n on.
void add_tail_counts(const NumpyStream& s, TaskId t, Index n, std::uint64_t missing, std::span<std::int64_t> counts);

}  // namespace tally::core
