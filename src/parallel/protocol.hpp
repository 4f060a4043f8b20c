#pragma once
// The coordinator/worker messages as arrays of 64-bit words (docs/parallel.md).
// Every kResult a worker sends (its first two are empty requests) is answered by
// exactly one kAssign, so each side always knows how many replies are in flight.
#include <bit>
#include <cstdint>
#include <string>
#include <vector>

#include "core/types.hpp"
#include "io/run_record.hpp"
#include "parallel/batch.hpp"

namespace tally::parallel::protocol {

/// Message tags (MPI tags under MPI; plain numbers in unit tests).
enum Tag : int {
  kResult = 1,     ///< worker → 0: results of one batch (maybe none) and a request for one more
  kAssign = 2,     ///< 0 → worker: one batch, or none with a reason
  kStopReq = 3,    ///< worker → 0: this rank received a stop signal
  kBye = 4,        ///< worker → 0: no outstanding requests, here is my timing
  kFinal = 5,      ///< 0 → worker: the exit code to return, and whether to skip MPI_Finalize
  kVerdict = 6,    ///< 0 → worker: start-up verdict (exit code and message)
  kHello = 7,      ///< worker → 0: this rank's host name
  kHeartbeat = 8,  ///< either way: still alive (sent while busy or waiting)
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
inline std::string decode_text(const std::vector<std::uint64_t>& w, std::size_t at = 0) {
  if (at >= w.size() || w[at] > 8 * (w.size() - at - 1)) return {};
  std::string text(w[at], '\0');
  for (std::size_t i = 0; i < text.size(); ++i) text[i] = char((w[at + 1 + i / 8] >> (8 * (i % 8))) & 0xff);
  return text;
}

/// The final word rank 0 sends each worker.
struct Final {
  int code = 1;
  bool skip_finalize = false;  ///< a peer was lost: MPI_Finalize could wait on it forever
};
inline std::vector<std::uint64_t> encode(const Final& f) { return {std::uint64_t(f.code), f.skip_finalize ? 1u : 0u}; }
inline Final decode_final(const std::vector<std::uint64_t>& w) {
  if (w.size() != 2) return {};
  return {int(w[0]), w[1] != 0};
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
inline Assign decode_assign(const std::vector<std::uint64_t>& w) {
  if (w.size() != 3) return {{}, NoWork::kStopNow};
  return {{w[0], w[1]}, NoWork(w[2])};
}

/// Words per chunk in a result: the 128-bit sum (low word, high word) and missing.
inline constexpr std::size_t kWordsPerChunk = 3;

/// Results of one batch: [first, count, (sum low, sum high, missing) per chunk, and with
/// a histogram first_task, cells, counts…]. An empty batch is a plain request.
inline std::vector<std::uint64_t> encode(const BatchResult& r) {
  std::vector<std::uint64_t> w{r.batch.first, r.batch.count};
  w.reserve(2 + kWordsPerChunk * r.sums.size() + (r.histogram.empty() ? 0 : 2 + r.histogram.size()));
  for (const auto& s : r.sums) {
    w.push_back(std::uint64_t(core::u128(s.sum)));
    w.push_back(std::uint64_t(core::u128(s.sum) >> 64));
    w.push_back(s.missing);
  }
  if (!r.histogram.empty()) {
    w.push_back(r.first_task);
    w.push_back(r.histogram.size());
    for (auto count : r.histogram) w.push_back(std::uint64_t(count));
  }
  return w;
}

/// Decodes a result message; false when it is malformed.
inline bool decode(const std::vector<std::uint64_t>& w, BatchResult& r) {
  if (w.size() < 2 || w[1] > (w.size() - 2) / kWordsPerChunk) return false;
  r.batch = {w[0], w[1]};
  std::size_t at = 2;
  r.sums.resize(r.batch.count);
  for (auto& s : r.sums) {
    s = {core::i128((core::u128(w[at + 1]) << 64) | w[at]), w[at + 2]};
    at += kWordsPerChunk;
  }
  r.histogram.clear();
  if (at == w.size()) return true;
  if (w.size() - at < 2 || w[at + 1] != w.size() - at - 2) return false;
  r.first_task = w[at];
  r.histogram.assign(w.begin() + std::ptrdiff_t(at + 2), w.end());
  return true;
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
