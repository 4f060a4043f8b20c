#pragma once
// Vocabulary types: what a number means is in its type's name.
#include <cstdint>

namespace tally::core {

using u128 = unsigned __int128;
using i128 = __int128;

using TaskId = std::uint64_t;   ///< task number, 0 … tasks-1
using ChunkId = std::uint64_t;  ///< chunk number in run order: task-major, then index
using Index = std::uint64_t;    ///< sample index inside a task (raw unit index for numpy chunks)

/// Inclusive value range [lo, hi] of the draws.
struct Range {
  std::int64_t lo = 1;
  std::int64_t hi = 100;
  /// hi - lo + 1, between 1 and 2^64.
  [[nodiscard]] u128 span() const { return static_cast<u128>(static_cast<i128>(hi) - lo) + 1; }
  bool operator==(const Range&) const = default;
};

/// Half-open index range [begin, end) of one task.
struct IndexRange {
  Index begin = 0;
  Index end = 0;
  [[nodiscard]] Index size() const { return end - begin; }
};

/// Exact result of one chunk: the sum of its values (128-bit: a chunk of up to 2^40
/// draws of 64-bit values can pass 2^63), and (numpy stream only) how many of its raw
/// units were rejected, i.e. how many values the task's tail must supply.
struct ChunkSum {
  i128 sum = 0;
  std::uint64_t missing = 0;
  bool operator==(const ChunkSum&) const = default;
};

}  // namespace tally::core
