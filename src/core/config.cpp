#include "core/config.hpp"

#include <algorithm>
#include <cstdio>
#include <limits>

#include "core/error.hpp"

namespace tally::core {

std::string to_string(StreamKind kind) { return kind == StreamKind::kFast ? "fast" : "numpy"; }

StreamKind parse_stream(const std::string& text) {
  if (text == "fast") return StreamKind::kFast;
  if (text == "numpy") return StreamKind::kNumpy;
  throw usage_error("--stream must be 'fast' or 'numpy', not '" + text + "'");
}

u128 parse_u128(const std::string& text, const std::string& what) {
  const bool hex = text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
  const unsigned base = hex ? 16 : 10;
  const std::string digits = hex ? text.substr(2) : text;
  if (digits.empty()) throw usage_error(what + " must be a non-negative integer, not '" + text + "'");
  u128 value = 0;
  const u128 max = ~u128{0};
  for (char c : digits) {
    unsigned d = 0;
    if (c >= '0' && c <= '9') d = unsigned(c - '0');
    else if (hex && c >= 'a' && c <= 'f') d = unsigned(c - 'a' + 10);
    else if (hex && c >= 'A' && c <= 'F') d = unsigned(c - 'A' + 10);
    else throw usage_error(what + " must be a non-negative integer, not '" + text + "'");
    if (value > (max - d) / base) throw usage_error(what + " must be below 2^128, not '" + text + "'");
    value = value * base + d;
  }
  return value;
}

std::string to_string(u128 value) {
  if (value == 0) return "0";
  std::string out;
  while (value != 0) {
    out.push_back(char('0' + int(value % 10)));
    value /= 10;
  }
  std::reverse(out.begin(), out.end());
  return out;
}

std::vector<std::string> Config::problems() const {
  std::vector<std::string> out;
  if (tasks <= 0) out.push_back("tasks must be at least 1, not " + std::to_string(tasks));
  if (samples <= 0) out.push_back("samples must be at least 1, not " + std::to_string(samples));
  if (range.lo > range.hi)
    out.push_back("range " + std::to_string(range.lo) + ":" + std::to_string(range.hi) + " is empty (lo > hi)");
  if (chunk <= 0 || chunk > kMaxChunk)
    out.push_back("chunk must be between 1 and 2^40, not " + std::to_string(chunk));
  if (!out.empty()) return out;

  // Sums are 128-bit: n < 2^63 draws of |value| ≤ 2^63 stay below 2^126, so any
  // range is exact; only the draw count (int64 counts) and the ledger size are bounded.
  const i128 n = i128{tasks} * samples;
  constexpr i128 kMax = std::numeric_limits<std::int64_t>::max();
  if (n > kMax) {
    out.push_back("tasks × samples = " + to_string(u128(n)) + " exceeds 2^63 - 1 draws");
  } else if (chunk_count() > kMaxChunks) {
    out.push_back("chunk " + std::to_string(chunk) + " gives " + std::to_string(chunk_count()) +
                  " chunks, more than the 2^28 the ledger allows; use a larger --chunk");
  }
  return out;
}

void Config::validate() const {
  const auto found = problems();
  if (!found.empty()) throw usage_error(found.front());
}

std::string Config::canonical_text() const {
  return "tally-config-v1 stream=" + to_string(stream) + " seed=" + to_string(seed) +
         " tasks=" + std::to_string(tasks) + " samples=" + std::to_string(samples) +
         " lo=" + std::to_string(range.lo) + " hi=" + std::to_string(range.hi) +
         " chunk=" + std::to_string(chunk);
}

std::string Config::fingerprint() const {
  std::uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a 64: tiny, stable, documented
  for (unsigned char c : canonical_text()) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(h));
  return text;
}

std::uint64_t Config::chunks_per_task() const {
  return (std::uint64_t(samples) + std::uint64_t(chunk) - 1) / std::uint64_t(chunk);
}

std::uint64_t Config::chunk_count() const { return std::uint64_t(tasks) * chunks_per_task(); }

TaskId Config::task_of(ChunkId id) const { return id / chunks_per_task(); }

IndexRange Config::indices_of(ChunkId id) const {
  const Index begin = (id % chunks_per_task()) * std::uint64_t(chunk);
  return {begin, std::min<Index>(begin + std::uint64_t(chunk), std::uint64_t(samples))};
}

std::uint64_t Config::total_samples() const { return std::uint64_t(tasks) * std::uint64_t(samples); }

std::vector<std::string> differing_fields(const Config& a, const Config& b) {
  std::vector<std::string> out;
  if (a.stream != b.stream) out.push_back("stream (" + to_string(a.stream) + " vs " + to_string(b.stream) + ")");
  if (a.seed != b.seed) out.push_back("seed (" + to_string(a.seed) + " vs " + to_string(b.seed) + ")");
  if (a.tasks != b.tasks) out.push_back("tasks (" + std::to_string(a.tasks) + " vs " + std::to_string(b.tasks) + ")");
  if (a.samples != b.samples)
    out.push_back("samples (" + std::to_string(a.samples) + " vs " + std::to_string(b.samples) + ")");
  if (a.range != b.range)
    out.push_back("range (" + std::to_string(a.range.lo) + ":" + std::to_string(a.range.hi) + " vs " +
                  std::to_string(b.range.lo) + ":" + std::to_string(b.range.hi) + ")");
  if (a.chunk != b.chunk) out.push_back("chunk (" + std::to_string(a.chunk) + " vs " + std::to_string(b.chunk) + ")");
  return out;
}

}  // namespace tally::core
