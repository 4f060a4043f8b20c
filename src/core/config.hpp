#pragma once
// The run configuration: the fields that define results, their validation, and a
// stable fingerprint that checkpoints and results files carry.
#include <cstdint>
#include <string>
#include <vector>

#include "core/types.hpp"

namespace tally::core {

enum class StreamKind { kFast, kNumpy };

[[nodiscard]] std::string to_string(StreamKind kind);
/// Parses "fast" or "numpy"; throws a usage Error otherwise.
[[nodiscard]] StreamKind parse_stream(const std::string& text);

/// Parses an unsigned integer below 2^128, decimal or 0x-hex; throws a usage Error.
[[nodiscard]] u128 parse_u128(const std::string& text, const std::string& what);
[[nodiscard]] std::string to_string(u128 value);

/// Everything that determines a run's results. Ranks, threads and scheduling are not
/// here on purpose: they never change a result.
struct Config {
  static constexpr std::int64_t kDefaultChunk = std::int64_t{1} << 20;
  static constexpr std::int64_t kMaxChunk = std::int64_t{1} << 40;
  static constexpr std::uint64_t kMaxChunks = std::uint64_t{1} << 28;  // ledger ≤ a few GiB

  std::int64_t tasks = 8;
  std::int64_t samples = 1'000'000;
  Range range{1, 100};
  u128 seed = 0;
  StreamKind stream = StreamKind::kFast;
  std::int64_t chunk = kDefaultChunk;

  /// One message per problem, empty when the configuration is valid.
  [[nodiscard]] std::vector<std::string> problems() const;
  /// Throws a usage Error naming the first problem.
  void validate() const;

  /// 16 hex digits of FNV-1a 64 over canonical_text(): equal iff results are equal.
  [[nodiscard]] std::string fingerprint() const;
  /// "tally-config-v1 stream=fast seed=… tasks=… samples=… lo=… hi=… chunk=…"
  [[nodiscard]] std::string canonical_text() const;

  [[nodiscard]] std::uint64_t chunks_per_task() const;
  [[nodiscard]] std::uint64_t chunk_count() const;
  [[nodiscard]] TaskId task_of(ChunkId id) const;
  [[nodiscard]] IndexRange indices_of(ChunkId id) const;
  [[nodiscard]] std::uint64_t total_samples() const;

  bool operator==(const Config&) const = default;
};

/// Names of the result-defining fields that differ between a and b ("seed", "range", …).
[[nodiscard]] std::vector<std::string> differing_fields(const Config& a, const Config& b);

}  // namespace tally::core
