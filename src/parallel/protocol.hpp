#pragma once
// The coordinator/worker messages as arrays of 64-bit words (docs/parallel.md).
// Every kResult a worker sends (its first two are empty requests) is answered by
// exactly one kAssign, so each side always knows how many replies are in flight.
#include <bit>
#include <cstdint>
#include <vector>

#include "core/types.hpp"
#include "io/run_record.hpp"
#include "parallel/scheduler.hpp"

namespace tally::parallel::protocol {

/// Why an assignment carries no chunks.
enum class NoWork : std::uint64_t { kNone = 0, kNoMore = 1, kStopNow = 2 };

struct Assign {
  Batch batch;                    ///< count 0 when there is no work
  NoWork reason = NoWork::kNone;
};

inline std::vector<std::uint64_t> encode(const Assign& a) {
  return {a.batch.first, a.batch.count, std::uint64_t(a.reason)};
}
inline Assign decode_assign(const std::vector<std::uint64_t>& w) {
  if (w.size() != 3) return {{}, NoWork::kStopNow};
  return {{w[0], w[1]}, NoWork(w[2])};
}

/// Results of one batch: [first, count, then (sum, missing) per chunk].
inline std::vector<std::uint64_t> encode_results(const Batch& b, const std::vector<core::ChunkSum>& sums) {
  std::vector<std::uint64_t> w{b.first, b.count};
  w.reserve(2 + 2 * sums.size());
  for (const auto& s : sums) {
    w.push_back(std::uint64_t(s.sum));
    w.push_back(s.missing);
  }
  return w;
}

/// Timing a worker sends with kBye: [chunks, busy seconds (bits), draws].
inline std::vector<std::uint64_t> encode(const io::RankTiming& t, std::uint64_t draws) {
  return {std::uint64_t(t.chunks), std::bit_cast<std::uint64_t>(t.busy_seconds), draws};
}
inline io::RankTiming decode_timing(const std::vector<std::uint64_t>& w) {
  if (w.size() != 3) return {};
  const double busy = std::bit_cast<double>(w[1]);
  return {std::int64_t(w[0]), busy, busy > 0 ? double(w[2]) / busy : 0.0};
}

}  // namespace tally::parallel::protocol
