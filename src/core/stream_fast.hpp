#pragma once
// The `fast` stream (docs/streams.md): Philox4x32-10, several base-s digits per
// 32-bit word, rejected words replaced in place so every draw is addressable.
// This file is the readable scalar definition; kernel_fast_* are the fast paths.
#include <cstdint>

#include "core/philox.hpp"
#include "core/types.hpp"

namespace tally::core {

class FastStream {
 public:
  enum class Mode { kConstant, kPacked, kWide };
  static constexpr std::uint32_t kPackedLimit = 1u << 20;  ///< largest span drawn in packed mode

  FastStream(u128 seed, Range range);

  [[nodiscard]] Mode mode() const { return mode_; }
  [[nodiscard]] const Philox4x32Key& key() const { return key_; }
  [[nodiscard]] Range range() const { return range_; }
  /// Values per 32-bit word (packed mode), else 0.
  [[nodiscard]] unsigned digits() const { return digits_; }
  /// s^digits (packed mode).
  [[nodiscard]] std::uint32_t word_modulus() const { return modulus_; }
  /// Words with (w·M) mod 2^32 below this are rejected (packed mode).
  [[nodiscard]] std::uint32_t packed_threshold() const { return packed_threshold_; }
  [[nodiscard]] std::uint32_t span32() const { return std::uint32_t(span_); }

  /// Block b of task t: words 4b … 4b+3.
  [[nodiscard]] Philox4x32Ctr block(TaskId t, std::uint64_t b) const {
    return philox4x32_10({std::uint32_t(b), std::uint32_t(b >> 32), std::uint32_t(t), std::uint32_t(t >> 32)}, key_);
  }
  /// Retry attempt a (≥ 1) for rejected unit j of task t.
  [[nodiscard]] Philox4x32Ctr retry_block(TaskId t, std::uint64_t j, std::uint32_t a) const {
    return philox4x32_10({std::uint32_t(j), std::uint32_t(j >> 32), std::uint32_t(t), std::uint32_t(t >> 32)},
                         {key_[0] + a, ~key_[1]});
  }
  /// Packed mode: the accepted v in [0, M) of word j, given its first-try word w.
  [[nodiscard]] std::uint32_t packed_value(TaskId t, std::uint64_t j, std::uint32_t w) const;
  /// Packed mode: true when word w is rejected.
  [[nodiscard]] bool packed_rejects(std::uint32_t w) const {
    return std::uint32_t(std::uint64_t{w} * modulus_) < packed_threshold_;
  }
  /// Wide mode: the span as a 64-bit number (0 stands for 2^64).
  [[nodiscard]] std::uint64_t span64() const { return std::uint64_t(span_); }
  /// Wide mode: x with (x·s) mod 2^64 below this is rejected (0 for s = 2^64).
  [[nodiscard]] std::uint64_t wide_threshold() const { return wide_threshold_; }
  /// Wide mode: true when first-try (or retry) draw x is rejected.
  [[nodiscard]] bool wide_rejects(std::uint64_t x) const {
    return span_ != (u128{1} << 64) && std::uint64_t(u128{x} * span_) < wide_threshold_;
  }
  /// Wide mode: the offset d = value − lo of value n of task t, given its first-try x
  /// (retries included).
  [[nodiscard]] std::uint64_t wide_offset(TaskId t, Index n, std::uint64_t x) const;
  /// Sum of the base-s digits i in [first, last) of v.
  [[nodiscard]] std::uint64_t digit_sum(std::uint32_t v, unsigned first, unsigned last) const;

  /// Value n of task t.
  [[nodiscard]] std::int64_t value(TaskId t, Index n) const;
  /// Exact sum of values [a, b) of task t, one value at a time: the oracle for the kernels.
  [[nodiscard]] ChunkSum sum_scalar(TaskId t, Index a, Index b) const;

 private:
  Range range_;
  u128 span_;
  Mode mode_;
  Philox4x32Key key_;
  unsigned digits_ = 0;
  std::uint32_t modulus_ = 0;
  std::uint32_t packed_threshold_ = 0;
  std::uint64_t wide_threshold_ = 0;
};

}  // namespace tally::core
