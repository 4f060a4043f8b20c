#include "core/kernel_numpy.hpp"

#include <algorithm>

#include "core/cpu.hpp"

namespace tally::core {

ChunkSum sum_numpy_portable(const NumpyStream& s, TaskId t, Index a, Index b) {
  if (s.mode() == NumpyStream::Mode::kConstant) return s.sum_scalar(t, a, b);
  const unsigned per_block = s.units_per_block();
  u128 offsets = 0;  // sum of d = value − lo, exact for any span and length
  std::uint64_t missing = 0;
  for (std::uint64_t block = a / per_block; block * per_block < b; ++block) {
    const auto words = s.block(t, block);
    const Index first = std::max(a, block * per_block), last = std::min(b, (block + 1) * per_block);
    for (Index u = first; u < last; ++u) {
      const unsigned i = unsigned(u - block * per_block);
      const std::uint64_t x = s.unit_in_block(words, i);
      std::uint64_t d = 0;
      if (s.accept(x, d)) offsets += d;
      else ++missing;
    }
  }
  return {i128{s.range().lo} * i128(b - a - missing) + i128(offsets), missing};
}

ChunkSum sum_numpy(const NumpyStream& s, TaskId t, Index a, Index b) {
  if (s.mode() == NumpyStream::Mode::kConstant || !simd_allowed()) return sum_numpy_portable(s, t, a, b);
  return sum_numpy_hwy(s, t, a, b);
}

}  // namespace tally::core
