// Histograms on the vector path: the Philox generators (both streams) run on whole
// vectors of blocks, written once against Highway and compiled per target; a scalar
// loop turns the words into values and counts them into up to four tables in turn, so
// that runs of equal values do not wait on each other's increments. Counts are exact
// and independent of the split: every word goes through the streams' own definitions
// (rejections and retries included).
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "core/histogram_hwy.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include "core/philox_hwy-inl.hpp"

#ifndef TALLY_CORE_HISTOGRAM_HWY_ONCE
#define TALLY_CORE_HISTOGRAM_HWY_ONCE
#include <algorithm>
#include <vector>

#include "core/histogram.hpp"
#include "core/stream_fast.hpp"
#include "core/stream_numpy.hpp"
#endif

HWY_BEFORE_NAMESPACE();
namespace tally::core::HWY_NAMESPACE {

/// Fast stream: words w of blocks first + b (b < blocks) into out[w·blocks + b]
/// (low halves; blocks a multiple of Lanes(d)).
void FastWords(const FastStream& s, TaskId t, std::uint64_t first, std::uint64_t blocks, std::uint64_t* out) {
#if HWY_TARGET == HWY_SCALAR
  for (std::uint64_t b = 0; b < blocks; ++b) {
    const auto words = s.block(t, first + b);
    for (unsigned w = 0; w < 4; ++w) out[w * blocks + b] = words[w];
  }
#else
  const D64 d;
  const std::uint64_t n = hn::Lanes(d);
  const Philox32Lanes philox(s.key(), t);
  ForGroups<kFastStep>(blocks, [&]<int V>(std::uint64_t g, std::integral_constant<int, V>) HWY_ATTR {
    V64 c[V][4];
    philox.template operator()<V>(first + g, c);
    for (int v = 0; v < V; ++v)
      for (unsigned w = 0; w < 4; ++w) hn::StoreU(c[v][w], d, out + w * blocks + g + n * std::uint64_t(v));
  });
#endif
}

/// Numpy stream: words w of blocks first + b into out[w·blocks + b].
void NumpyWords(const NumpyStream& s, TaskId t, std::uint64_t first, std::uint64_t blocks, std::uint64_t* out) {
#if HWY_TARGET == HWY_SCALAR
  for (std::uint64_t b = 0; b < blocks; ++b) {
    const auto words = s.block(t, first + b);
    for (unsigned w = 0; w < 4; ++w) out[w * blocks + b] = words[w];
  }
#else
  const D64 d;
  const std::uint64_t n = hn::Lanes(d);
  const Philox64Lanes philox(s.key(), t);
  ForGroups<kNumpyStep>(blocks, [&]<int V>(std::uint64_t g, std::integral_constant<int, V>) HWY_ATTR {
    V64 c[V][4];
    philox.template operator()<V>(first + g, c);
    for (int v = 0; v < V; ++v)
      for (unsigned w = 0; w < 4; ++w) hn::StoreU(c[v][w], d, out + w * blocks + g + n * std::uint64_t(v));
  });
#endif
}

/// Lanes per vector: block counts handed to the generators are multiples of it.
std::uint64_t BlockLanes() {
#if HWY_TARGET == HWY_SCALAR
  return 1;
#else
  return hn::Lanes(D64());
#endif
}

}  // namespace tally::core::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace tally::core {
HWY_EXPORT(FastWords);
HWY_EXPORT(NumpyWords);
HWY_EXPORT(BlockLanes);

namespace {

/// Blocks generated per call: 4 · 8 · 256 bytes of words stay in L1.
constexpr std::uint64_t kBatch = 256;

/// Up to four count tables (four when span ≤ 4096, where they stay in cache), counted
/// into 32-bit cells and flushed into the 64-bit counts every kFlush values.
struct Tables {
  static constexpr std::uint64_t kFlush = std::uint64_t{1} << 30;
  std::size_t span, count;
  std::vector<std::uint32_t> cells;
  std::uint64_t added = 0;
  explicit Tables(std::size_t s) : span(s), count(s <= 4096 ? 4 : 1), cells(s * count, 0) {}
  void flush(std::span<std::int64_t> counts) {
    for (std::size_t k = 0; k < count; ++k)
      for (std::size_t d = 0; d < span; ++d) counts[d] += cells[k * span + d];
    std::fill(cells.begin(), cells.end(), 0);
    added = 0;
  }
  void maybe_flush(std::span<std::int64_t> counts) {
    if (added > kFlush) flush(counts);
  }
};

/// floor(v / s) = (v · magic) >> shift for every v < 2^20.
struct Divider {
  std::uint64_t magic;
  unsigned shift;
  explicit Divider(std::uint32_t s) {
    unsigned l = 0;
    while ((std::uint64_t{1} << l) < s) ++l;
    shift = 20 + l;
    magic = ((std::uint64_t{1} << shift) + s - 1) / s;
  }
};

}  // namespace

void add_counts_hwy(const FastStream& s, TaskId t, IndexRange r, std::span<std::int64_t> counts) {
  if (s.mode() != FastStream::Mode::kPacked || r.begin >= r.end) return add_counts_portable(s, t, r, counts);
  const std::uint64_t lanes = HWY_DYNAMIC_DISPATCH(BlockLanes)();
  const unsigned k = s.digits();
  const std::uint64_t per_block = 4 * std::uint64_t(k);
  const std::uint64_t first_block = (r.begin + per_block - 1) / per_block, end_block = r.end / per_block;
  if (end_block < first_block + lanes) return add_counts_portable(s, t, r, counts);
  const std::uint64_t blocks = (end_block - first_block) / lanes * lanes;
  const Index mid_begin = first_block * per_block, mid_end = (first_block + blocks) * per_block;
  add_counts_portable(s, t, {r.begin, mid_begin}, counts);
  add_counts_portable(s, t, {mid_end, r.end}, counts);

  const std::uint32_t span = s.span32();
  const Divider divider(span);
  Tables tables(span);
  const std::uint64_t batch = std::max(lanes, kBatch / lanes * lanes);
  std::vector<std::uint64_t> words(4 * batch);
  std::uint32_t* cells = tables.cells.data();
  const std::size_t stride = tables.count == 4 ? span : 0;
  for (std::uint64_t p = 0; p < blocks; p += batch) {
    const std::uint64_t m = std::min(batch, blocks - p);
    HWY_DYNAMIC_DISPATCH(FastWords)(s, t, first_block + p, m, words.data());
    for (std::uint64_t b = 0; b < m; ++b) {
      for (unsigned w = 0; w < 4; ++w) {
        const std::uint64_t j = 4 * (first_block + p + b) + w;
        std::uint32_t v = s.packed_value(t, j, std::uint32_t(words[w * m + b]));
        for (unsigned i = 0; i < k; ++i) {
          const auto q = std::uint32_t((v * divider.magic) >> divider.shift);
          ++cells[w * stride + (v - q * span)];
          v = q;
        }
      }
    }
    tables.added += m * per_block;
    tables.maybe_flush(counts);
  }
  tables.flush(counts);
}

void add_counts_hwy(const NumpyStream& s, TaskId t, IndexRange r, std::span<std::int64_t> counts) {
  if (s.mode() == NumpyStream::Mode::kConstant || r.begin >= r.end) return add_counts_portable(s, t, r, counts);
  const std::uint64_t lanes = HWY_DYNAMIC_DISPATCH(BlockLanes)();
  const std::uint64_t per_block = s.units_per_block();
  const std::uint64_t first_block = (r.begin + per_block - 1) / per_block, end_block = r.end / per_block;
  if (end_block < first_block + lanes) return add_counts_portable(s, t, r, counts);
  const std::uint64_t blocks = (end_block - first_block) / lanes * lanes;
  const Index mid_begin = first_block * per_block, mid_end = (first_block + blocks) * per_block;
  add_counts_portable(s, t, {r.begin, mid_begin}, counts);
  add_counts_portable(s, t, {mid_end, r.end}, counts);

  Tables tables(std::size_t(s.span64()));
  const std::uint64_t batch = std::max(lanes, kBatch / lanes * lanes);
  std::vector<std::uint64_t> words(4 * batch);
  std::uint32_t* cells = tables.cells.data();
  const std::size_t stride = tables.count == 4 ? std::size_t(s.span64()) : 0;
  for (std::uint64_t p = 0; p < blocks; p += batch) {
    const std::uint64_t m = std::min(batch, blocks - p);
    HWY_DYNAMIC_DISPATCH(NumpyWords)(s, t, first_block + p, m, words.data());
    for (std::uint64_t b = 0; b < m; ++b) {
      const Philox4x64Ctr block = {words[b], words[m + b], words[2 * m + b], words[3 * m + b]};
      for (unsigned i = 0; i < per_block; ++i) {
        std::uint64_t d = 0;
        if (s.accept(s.unit_in_block(block, i), d)) ++cells[(i % 4) * stride + d];
      }
    }
    tables.added += m * per_block;
    tables.maybe_flush(counts);
  }
  tables.flush(counts);
}

}  // namespace tally::core
#endif
