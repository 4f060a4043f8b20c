#include "core/kernel_fast.hpp"

#include <algorithm>

namespace tally::core {

ChunkSum sum_fast_portable(const FastStream& s, TaskId t, Index a, Index b) {
  const std::uint64_t lo = std::uint64_t(s.range().lo);
  if (s.mode() != FastStream::Mode::kPacked) {
    if (s.mode() == FastStream::Mode::kConstant) return {std::int64_t(lo * (b - a)), 0};
    return s.sum_scalar(t, a, b);
  }
  const unsigned k = s.digits();
  std::uint64_t digits = 0;
  for (std::uint64_t j = a / k; j * k < b; ++j) {
    const Index first = std::max(a, j * k), last = std::min(b, (j + 1) * k);
    const std::uint32_t v = s.packed_value(t, j, s.block(t, j / 4)[j % 4]);
    digits += s.digit_sum(v, unsigned(first - j * k), unsigned(last - j * k));
  }
  return {std::int64_t(lo * (b - a) + digits), 0};  // modulo 2^64, exact by Config's bound
}

ChunkSum sum_fast(const FastStream& s, TaskId t, Index a, Index b) { return sum_fast_portable(s, t, a, b); }

}  // namespace tally::core
