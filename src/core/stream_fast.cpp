#include "core/stream_fast.hpp"

namespace tally::core {

namespace {
constexpr Philox4x32Key kKeyDerivationKey = {0x6C6C6174u, 0x00000079u};  // "tally"
}

FastStream::FastStream(u128 seed, Range range) : range_(range), span_(range.span()) {
  const auto derived = philox4x32_10(
      {std::uint32_t(seed), std::uint32_t(seed >> 32), std::uint32_t(seed >> 64), std::uint32_t(seed >> 96)},
      kKeyDerivationKey);
  key_ = {derived[0], derived[1]};
  if (span_ == 1) {
    mode_ = Mode::kConstant;
  } else if (span_ <= kPackedLimit) {
    mode_ = Mode::kPacked;
    std::uint64_t m = 1;
    while (m * std::uint64_t(span_) <= kPackedLimit) {
      m *= std::uint64_t(span_);
      ++digits_;
    }
    modulus_ = std::uint32_t(m);
    packed_threshold_ = std::uint32_t((std::uint64_t{1} << 32) % m);
  } else {
    mode_ = Mode::kWide;
    if (span_ < (u128{1} << 64)) wide_threshold_ = std::uint64_t((u128{1} << 64) % span_);
  }
}

std::uint32_t FastStream::packed_value(TaskId t, std::uint64_t j, std::uint32_t w) const {
  for (std::uint32_t attempt = 1; packed_rejects(w); ++attempt) w = retry_block(t, j, attempt)[0];
  return std::uint32_t((std::uint64_t{w} * modulus_) >> 32);
}

std::uint64_t FastStream::digit_sum(std::uint32_t v, unsigned first, unsigned last) const {
  std::uint64_t sum = 0;
  for (unsigned i = 0; i < last; ++i, v /= span32())
    if (i >= first) sum += v % span32();
  return sum;
}

std::uint64_t FastStream::wide_offset(TaskId t, Index n, std::uint64_t x) const {
  if (span_ == (u128{1} << 64)) return x;
  for (std::uint32_t attempt = 1;; ++attempt) {
    const u128 m = u128{x} * span_;
    if (std::uint64_t(m) >= wide_threshold_) return std::uint64_t(m >> 64);
    const auto retry = retry_block(t, n, attempt);
    x = retry[0] | (std::uint64_t{retry[1]} << 32);
  }
}

std::int64_t FastStream::value(TaskId t, Index n) const {
  std::uint64_t d = 0;
  switch (mode_) {
    case Mode::kConstant: break;
    case Mode::kPacked: {
      const std::uint64_t j = n / digits_;
      const unsigned i = unsigned(n % digits_);
      d = digit_sum(packed_value(t, j, block(t, j / 4)[j % 4]), i, i + 1);
      break;
    }
    case Mode::kWide: {
      const auto words = block(t, n / 2);
      const unsigned pair = unsigned(n % 2) * 2;
      d = wide_offset(t, n, words[pair] | (std::uint64_t{words[pair + 1]} << 32));
      break;
    }
  }
  return std::int64_t(std::uint64_t(range_.lo) + d);  // wraps into [lo, hi] by construction
}

ChunkSum FastStream::sum_scalar(TaskId t, Index a, Index b) const {
  i128 sum = 0;
  for (Index n = a; n < b; ++n) sum += value(t, n);
  return {sum, 0};
}

}  // namespace tally::core
