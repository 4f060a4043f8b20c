#include "core/stream_numpy.hpp"

namespace tally::core {

NumpyStream::NumpyStream(u128 seed, Range range)
    : range_(range), span_(range.span()), key_{std::uint64_t(seed), std::uint64_t(seed >> 64)} {
  if (span_ == 1) {
    mode_ = Mode::kConstant;
  } else if (span_ == (u128{1} << 32)) {
    mode_ = Mode::kRaw32;
  } else if (span_ < (u128{1} << 32)) {
    mode_ = Mode::kLemire32;
    threshold_ = (std::uint64_t{1} << 32) % std::uint64_t(span_);
  } else if (span_ == (u128{1} << 64)) {
    mode_ = Mode::kRaw64;
  } else {
    mode_ = Mode::kLemire64;
    threshold_ = std::uint64_t((u128{1} << 64) % span_);
  }
}

std::uint64_t NumpyStream::unit(TaskId t, Index u) const {
  if (wide()) return block(t, u / 4)[u % 4];
  const std::uint64_t word = block(t, u / 8)[(u / 2) % 4];
  return u % 2 == 0 ? (word & 0xffffffffu) : (word >> 32);
}

ChunkSum NumpyStream::sum_scalar(TaskId t, Index a, Index b) const {
  if (mode_ == Mode::kConstant) return {i128{range_.lo} * i128(b - a), 0};
  u128 offsets = 0;  // values are lo + d with 0 ≤ d < span: sum the d exactly, add lo·n once
  std::uint64_t missing = 0;
  for (Index u = a; u < b; ++u) {
    std::uint64_t d = 0;
    if (accept(unit(t, u), d)) offsets += d;
    else ++missing;
  }
  return {i128{range_.lo} * i128(b - a - missing) + i128(offsets), missing};
}

i128 NumpyStream::tail(TaskId t, Index n, std::uint64_t missing) const {
  const std::uint64_t count = missing;
  u128 offsets = 0;
  // Block by block: each Philox block is computed once, however many units it gives.
  const unsigned per_block = units_per_block();
  for (std::uint64_t block = n / per_block; missing > 0; ++block) {
    const auto words = this->block(t, block);
    for (unsigned i = block == n / per_block ? unsigned(n % per_block) : 0; i < per_block && missing > 0; ++i) {
      const std::uint64_t x = unit_in_block(words, i);
      std::uint64_t d = 0;
      if (accept(x, d)) {
        offsets += d;
        --missing;
      }
    }
  }
  return i128{range_.lo} * i128(count) + i128(offsets);
}

}  // namespace tally::core
