#include "core/kernel_fast.hpp"

#include <algorithm>

#include "core/cpu.hpp"

namespace tally::core {

ChunkSum sum_fast_portable(const FastStream& s, TaskId t, Index a, Index b) {
  if (s.mode() == FastStream::Mode::kConstant) return {i128{s.range().lo} * i128(b - a), 0};
  if (s.mode() == FastStream::Mode::kWide) {
    u128 offsets = 0;  // d < 2^64 each: exact for any length
    Philox4x32Ctr words{};
    std::uint64_t have_block = ~std::uint64_t{0};
    for (Index n = a; n < b; ++n) {
      if (n / 2 != have_block) {
        have_block = n / 2;
        words = s.block(t, have_block);
      }
      const unsigned pair = unsigned(n % 2) * 2;
      offsets += s.wide_offset(t, n, words[pair] | (std::uint64_t{words[pair + 1]} << 32));
    }
    return {i128{s.range().lo} * i128(b - a) + i128(offsets), 0};
  }
  const unsigned k = s.digits();
  std::uint64_t digits = 0;
  Philox4x32Ctr words{};
  std::uint64_t have_block = ~std::uint64_t{0};
  // Words j with j·k < b, written so that nothing wraps for b near 2^64.
  for (std::uint64_t j = a / k; a < b && j <= (b - 1) / k; ++j) {
    if (j / 4 != have_block) {
      have_block = j / 4;
      words = s.block(t, have_block);
    }
    const Index first = std::max(a, j * k), last = j * k + std::min<Index>(k, b - j * k);
    const std::uint32_t v = s.packed_value(t, j, words[j % 4]);
    digits += s.digit_sum(v, unsigned(first - j * k), unsigned(last - j * k));
  }
  return {i128{s.range().lo} * i128(b - a) + i128(digits), 0};  // digits < 2^20 · 2^40: no overflow
}

ChunkSum sum_fast(const FastStream& s, TaskId t, Index a, Index b) {
  if (s.mode() == FastStream::Mode::kConstant || !simd_allowed()) return sum_fast_portable(s, t, a, b);
  return sum_fast_hwy(s, t, a, b);
}

}  // namespace tally::core
