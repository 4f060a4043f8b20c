#pragma once
// The coordinator/worker messages as arrays of 64-bit words (docs/parallel.md).
// Every kResult a worker sends (its first two are empty requests) is answered by
// exactly one kAssign, so each side always knows how many replies are in flight.
#include <bit>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/types.hpp"
#include "io/run_record.hpp"
#include "parallel/batch.hpp"

namespace tally::parallel::protocol {

/// Message tags of run and verify, one space (MPI tags under MPI; plain numbers in
/// unit tests). kFinal and kHeartbeat belong to both; a job carries only one of the two.
enum Tag : int {
  kResult = 1,     ///< worker → 0: results of one batch (maybe none) and a request for one more
  kAssign = 2,     ///< 0 → worker: one batch, or none with a reason
  kStopReq = 3,    ///< worker → 0: this rank received a stop signal
  kBye = 4,        ///< worker → 0: no outstanding requests, here is my timing
  kFinal = 5,      ///< 0 → worker: the exit code to return, and whether to skip MPI_Finalize
  kVerdict = 6,    ///< 0 → worker: start-up verdict (exit code and message)
  kHello = 7,      ///< worker → 0: this rank's host name
  kHeartbeat = 8,  ///< either way: still alive (sent while busy, waiting or writing)
  // tally verify:
  kShare = 9,      ///< 0 → worker: [ledger size, chunk runs (encode_runs), fingerprint text]
  kSums = 10,      ///< worker → 0: [offset, count, (low, high, missing) × count], part of its share
  kTrouble = 11,   ///< worker → 0: [text] this worker cannot replay (e.g. cannot read the file)
};

/// Text as words: [length, bytes packed eight per word].
inline std::vector<std::uint64_t> encode_text(const std::string& text, std::vector<std::uint64_t> head = {}) {
  head.push_back(text.size());
  const std::size_t at = head.size();
  head.resize(at + (text.size() + 7) / 8, 0);
  for (std::size_t i = 0; i < text.size(); ++i)
    head[at + i / 8] |= std::uint64_t(static_cast<unsigned char>(text[i])) << (8 * (i % 8));
  return head;
}
/// Reads text encoded at word `at`; empty when malformed.
inline std::string decode_text(const std::vector<std::uint64_t>& words, std::size_t at = 0) {
  if (at >= words.size() || words[at] > 8 * (words.size() - at - 1)) return {};
  std::string text(words[at], '\0');
  for (std::size_t i = 0; i < text.size(); ++i) text[i] = char((words[at + 1 + i / 8] >> (8 * (i % 8))) & 0xff);
  return text;
}

/// Ascending chunk ids as runs of consecutive ids: [runs, (first, count) × runs]
/// appended to `head`. A whole ledger is one run, whatever its size: a share message
/// stays small, so its transfer never competes with the liveness deadline.
inline std::vector<std::uint64_t> encode_runs(std::span<const core::ChunkId> ids, std::vector<std::uint64_t> head = {}) {
  const std::size_t count_at = head.size();
  head.push_back(0);
  for (std::size_t i = 0; i < ids.size();) {
    std::size_t j = i + 1;
    while (j < ids.size() && ids[j] == ids[j - 1] + 1) ++j;
    head.push_back(ids[i]);
    head.push_back(j - i);
    ++head[count_at];
    i = j;
  }
  return head;
}
/// Decodes runs at word `at` (moved past them); nullopt when malformed, not ascending,
/// or naming more than `limit` ids or an id ≥ `limit`.
inline std::optional<std::vector<core::ChunkId>> decode_runs(const std::vector<std::uint64_t>& words, std::size_t& at,
                                                             std::uint64_t limit) {
  if (at >= words.size() || words[at] > (words.size() - at - 1) / 2) return std::nullopt;
  const std::uint64_t runs = words[at];
  std::uint64_t total = 0, next = 0;
  for (std::uint64_t r = 0; r < runs; ++r) {
    const std::uint64_t first = words[at + 1 + 2 * r], count = words[at + 2 + 2 * r];
    if (count == 0 || first < next || first >= limit || count > limit - first || count > limit - total)
      return std::nullopt;
    next = first + count;
    total += count;
  }
  std::vector<core::ChunkId> ids;
  ids.reserve(total);
  for (std::uint64_t r = 0; r < runs; ++r)
    for (std::uint64_t i = 0; i < words[at + 2 + 2 * r]; ++i) ids.push_back(words[at + 1 + 2 * r] + i);
  at += 1 + 2 * runs;
  return ids;
}

/// The final word rank 0 sends each worker.
struct Final {
  int code = 1;
  bool skip_finalize = false;  ///< a peer was lost: MPI_Finalize could wait on it forever
};
inline std::vector<std::uint64_t> encode(const Final& f) { return {std::uint64_t(f.code), f.skip_finalize ? 1u : 0u}; }
inline Final decode_final(const std::vector<std::uint64_t>& words) {
  if (words.size() != 2) return {};
  return {int(words[0]), words[1] != 0};
}

/// Why an assignment carries no chunks.
enum class NoWork : std::uint64_t { kNone = 0, kNoMore = 1, kStopNow = 2 };

struct Assign {
  Batch batch;                    ///< count 0 when there is no work
  NoWork reason = NoWork::kNone;
};

inline std::vector<std::uint64_t> encode(const Assign& a) {
  return {a.batch.first, a.batch.count, std::uint64_t(a.reason)};
}
inline Assign decode_assign(const std::vector<std::uint64_t>& words) {
  if (words.size() != 3) return {{}, NoWork::kStopNow};
  return {{words[0], words[1]}, NoWork(words[2])};
}

/// Words per chunk in a result: the 128-bit sum (low word, high word) and missing.
inline constexpr std::size_t kWordsPerChunk = 3;

/// Results of one batch: [first, count, (sum low, sum high, missing) per chunk, and with
/// a histogram first_task, cells, counts…]. An empty batch is a plain request.
inline std::vector<std::uint64_t> encode(const BatchResult& r) {
  std::vector<std::uint64_t> words{r.batch.first, r.batch.count};
  words.reserve(2 + kWordsPerChunk * r.sums.size() + (r.histogram.empty() ? 0 : 2 + r.histogram.size()));
  for (const auto& s : r.sums) {
    words.push_back(std::uint64_t(core::u128(s.sum)));
    words.push_back(std::uint64_t(core::u128(s.sum) >> 64));
    words.push_back(s.missing);
  }
  if (!r.histogram.empty()) {
    words.push_back(r.first_task);
    words.push_back(r.histogram.size());
    for (auto count : r.histogram) words.push_back(std::uint64_t(count));
  }
  return words;
}

/// Decodes a result message; false when it is malformed.
inline bool decode(const std::vector<std::uint64_t>& words, BatchResult& r) {
  if (words.size() < 2 || words[1] > (words.size() - 2) / kWordsPerChunk) return false;
  r.batch = {words[0], words[1]};
  std::size_t at = 2;
  r.sums.resize(r.batch.count);
  for (auto& s : r.sums) {
    s = {core::i128((core::u128(words[at + 1]) << 64) | words[at]), words[at + 2]};
    at += kWordsPerChunk;
  }
  r.histogram.clear();
  if (at == words.size()) return true;
  if (words.size() - at < 2 || words[at + 1] != words.size() - at - 2) return false;
  r.first_task = words[at];
  r.histogram.assign(words.begin() + std::ptrdiff_t(at + 2), words.end());
  return true;
}

/// Timing a worker sends with kBye: [chunks, busy seconds (bits), draws].
inline std::vector<std::uint64_t> encode(const io::RankTiming& t, std::uint64_t draws) {
  return {std::uint64_t(t.chunks), std::bit_cast<std::uint64_t>(t.busy_seconds), draws};
}
inline io::RankTiming decode_timing(const std::vector<std::uint64_t>& words) {
  if (words.size() != 3) return {};
  const double busy = std::bit_cast<double>(words[1]);
  return {std::int64_t(words[0]), busy, busy > 0 ? double(words[2]) / busy : 0.0};
}

}  // namespace tally::parallel::protocol
