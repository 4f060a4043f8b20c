#include "core/histogram.hpp"

#include <algorithm>

#include "core/cpu.hpp"
#include "core/stream_fast.hpp"
#include "core/stream_numpy.hpp"

namespace tally::core {

std::string histogram_problem(const Config& c) {
  if (c.range.span() > kMaxHistogramSpan)
    return "--histogram needs a span of at most 65536 values; [" + std::to_string(c.range.lo) + ", " +
           std::to_string(c.range.hi) + "] is wider";
  if (std::uint64_t(c.tasks) * std::uint64_t(c.range.span()) > kMaxHistogramCells)
    return "--histogram needs tasks × span ≤ 2^26 counts; use fewer tasks or a smaller range";
  return {};
}

void add_counts(const FastStream& s, TaskId t, IndexRange r, std::span<std::int64_t> counts) {
  if (s.mode() != FastStream::Mode::kPacked || !simd_allowed()) return add_counts_portable(s, t, r, counts);
  add_counts_hwy(s, t, r, counts);
}

void add_counts_portable(const FastStream& s, TaskId t, IndexRange r, std::span<std::int64_t> counts) {
  if (r.begin >= r.end) return;
  switch (s.mode()) {
    case FastStream::Mode::kConstant: counts[0] += std::int64_t(r.size()); return;
    case FastStream::Mode::kWide:
      for (Index n = r.begin; n < r.end; ++n) ++counts[std::uint64_t(s.value(t, n)) - std::uint64_t(s.range().lo)];
      return;
    case FastStream::Mode::kPacked: break;
  }
  const unsigned k = s.digits();
  const std::uint32_t span = s.span32();
  Philox4x32Ctr words{};
  std::uint64_t have_block = ~std::uint64_t{0};
  for (std::uint64_t j = r.begin / k; j * k < r.end; ++j) {
    if (j / 4 != have_block) {
      have_block = j / 4;
      words = s.block(t, have_block);
    }
    std::uint32_t v = s.packed_value(t, j, words[j % 4]);
    for (unsigned i = 0; i < k; ++i, v /= span) {
      const Index n = j * k + i;
      if (n >= r.begin && n < r.end) ++counts[v % span];
    }
  }
}

void add_counts(const NumpyStream& s, TaskId t, IndexRange r, std::span<std::int64_t> counts) {
  if (s.mode() == NumpyStream::Mode::kConstant || !simd_allowed()) return add_counts_portable(s, t, r, counts);
  add_counts_hwy(s, t, r, counts);
}

void add_counts_portable(const NumpyStream& s, TaskId t, IndexRange r, std::span<std::int64_t> counts) {
  if (r.begin >= r.end) return;
  if (s.mode() == NumpyStream::Mode::kConstant) {
    counts[0] += std::int64_t(r.size());
    return;
  }
  const unsigned per_block = s.units_per_block();
  for (std::uint64_t block = r.begin / per_block; block * per_block < r.end; ++block) {
    const auto words = s.block(t, block);
    const Index first = std::max(r.begin, block * per_block), last = std::min(r.end, (block + 1) * per_block);
    for (Index u = first; u < last; ++u) {
      const unsigned i = unsigned(u - block * per_block);
      const std::uint64_t x = s.unit_in_block(words, i);
      std::uint64_t d = 0;
      if (s.accept(x, d)) ++counts[d];
    }
  }
}

void add_tail_counts(const NumpyStream& s, TaskId t, Index n, std::uint64_t missing, std::span<std::int64_t> counts) {
  // Block by block, as NumpyStream::tail: each Philox block is computed once.
  const unsigned per_block = s.units_per_block();
  for (std::uint64_t block = n / per_block; missing > 0; ++block) {
    const auto words = s.block(t, block);
    for (unsigned i = block == n / per_block ? unsigned(n % per_block) : 0; i < per_block && missing > 0; ++i) {
      std::uint64_t d = 0;
      if (s.accept(s.unit_in_block(words, i), d)) {
        ++counts[d];
        --missing;
      }
    }
  }
}

}  // namespace tally::core
