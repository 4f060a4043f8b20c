#pragma once
// The `numpy` stream (docs/streams.md): bit-exact with
// Generator(Philox(key=seed).jumped(task)).integers(lo, hi, n, endpoint=True).
// Chunks are ranges of raw units; a task's rejected units are made up by its tail.
#include <cstdint>

#include "core/philox.hpp"
#include "core/types.hpp"

namespace tally::core {

class NumpyStream {
 public:
  enum class Mode { kConstant, kRaw32, kLemire32, kRaw64, kLemire64 };

  NumpyStream(u128 seed, Range range);

  [[nodiscard]] Mode mode() const { return mode_; }
  [[nodiscard]] const Philox4x64Key& key() const { return key_; }
  [[nodiscard]] Range range() const { return range_; }
  /// Raw units per Philox block: 8 (32-bit halves) or 4 (64-bit words).
  [[nodiscard]] unsigned units_per_block() const { return wide() ? 4 : 8; }
  [[nodiscard]] bool wide() const { return mode_ == Mode::kRaw64 || mode_ == Mode::kLemire64; }
  [[nodiscard]] std::uint64_t span64() const { return std::uint64_t(span_); }
  [[nodiscard]] std::uint64_t threshold() const { return threshold_; }

  /// Block b of task t (NumPy increments the counter before each block).
  [[nodiscard]] Philox4x64Ctr block(TaskId t, std::uint64_t b) const {
    return philox4x64_10({b + 1, b == ~std::uint64_t{0} ? 1u : 0u, t, 0}, key_);
  }
  /// Raw unit i (0 ≤ i < units_per_block()) of a block's words.
  [[nodiscard]] std::uint64_t unit_in_block(const Philox4x64Ctr& words, unsigned i) const {
    return wide() ? words[i] : (i % 2 == 0 ? words[i / 2] & 0xffffffffu : words[i / 2] >> 32);
  }
  /// Raw unit u of task t.
  [[nodiscard]] std::uint64_t unit(TaskId t, Index u) const;
  /// Maps a raw unit to its offset d from lo; false when NumPy rejects it.
  [[nodiscard]] bool accept(std::uint64_t x, std::uint64_t& d) const {
    switch (mode_) {
      case Mode::kConstant: d = 0; return true;
      case Mode::kRaw32:
      case Mode::kRaw64: d = x; return true;
      case Mode::kLemire32: {
        const std::uint64_t m = x * span64();
        d = m >> 32;
        return std::uint32_t(m) >= threshold_;
      }
      case Mode::kLemire64: {
        const u128 m = u128{x} * span64();
        d = std::uint64_t(m >> 64);
        return std::uint64_t(m) >= threshold_;
      }
    }
    return false;
  }

  /// Sum of the accepted units in [a, b) of task t and the number rejected (the oracle).
  [[nodiscard]] ChunkSum sum_scalar(TaskId t, Index a, Index b) const;
  /// Sum of the first `missing` accepted units at or after unit n: the task's tail.
  [[nodiscard]] i128 tail(TaskId t, Index n, std::uint64_t missing) const;

 private:
  Range range_;
  u128 span_;
  Mode mode_;
  Philox4x64Key key_;
  std::uint64_t threshold_ = 0;
};

}  // namespace tally::core
