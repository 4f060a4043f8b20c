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
    philox.template Blocks<V>(first + g, [&](int v, V64 w0, V64 w1, V64 w2, V64 w3) HWY_ATTR __attribute__((always_inline)) {
      std::uint64_t* at = out + g + n * std::uint64_t(v);
      hn::StoreU(w0, d, at);
      hn::StoreU(w1, d, at + blocks);
      hn::StoreU(w2, d, at + 2 * blocks);
      hn::StoreU(w3, d, at + 3 * blocks);
    });
  });
#endif
}

/// Fast stream, packed mode: the k digits of every word of blocks first + b (b < blocks)
/// into out (k · 4 · blocks values, in no particular order: they are only counted).
/// Words the stream rejects (p ≤ 2^-12) get their first-try digits here; their addresses
/// j go to rejected[] (the return value says how many) for the caller to correct.
std::uint64_t FastDigits(const FastStream& s, TaskId t, std::uint64_t first, std::uint64_t blocks, std::uint64_t* out,
                         std::uint64_t* rejected) {
#if HWY_TARGET == HWY_SCALAR
  (void)s, (void)t, (void)first, (void)blocks, (void)out, (void)rejected;
  return ~std::uint64_t{0};  // not used: the scalar baseline counts on the portable path
#else
  const D64 d;
  const std::uint64_t n = hn::Lanes(d);
  const Philox32Lanes philox(s.key(), t);
  const unsigned k = s.digits();
  const std::uint32_t span = s.span32();
  unsigned log2_s = 0;
  while ((1u << log2_s) < span) ++log2_s;
  const bool pow2 = (span & (span - 1)) == 0;
  unsigned magic_shift = 0;
  while ((std::uint64_t{1} << magic_shift) < span) ++magic_shift;
  magic_shift += 20;
  const V64 magic = hn::Set(d, ((std::uint64_t{1} << magic_shift) + span - 1) / span);
  const V64 modulus = hn::Set(d, s.word_modulus()), low32 = hn::Set(d, 0xffffffffu), zero = hn::Zero(d);
  const V64 span_v = hn::Set(d, span), digit_mask = hn::Set(d, span - 1), flag_bits = hn::Set(d, 0xfff00000u);
  const int word_shift = int(32 - k * log2_s);
  std::uint64_t bad = 0;
  std::uint64_t* at = out;
  ForGroups<kFastStep>(blocks, [&]<int V>(std::uint64_t g, std::integral_constant<int, V>) HWY_ATTR {
    philox.template Blocks<V>(first + g, [&](int u, V64 w0, V64 w1, V64 w2, V64 w3) HWY_ATTR __attribute__((always_inline)) {
      auto word_digits = [&](V64 word, unsigned w) HWY_ATTR __attribute__((always_inline)) {
        if (pow2) {
          V64 v = hn::ShiftRightSame(hn::And(word, low32), word_shift);
          for (unsigned i = 0; i < k; ++i, at += n) {
            hn::StoreU(hn::And(v, digit_mask), d, at);
            v = hn::ShiftRightSame(v, int(log2_s));
          }
          return;
        }
        const V64 m = Mul32(word, modulus);
        V64 v = hn::ShiftRight<32>(m);
        for (unsigned i = 0; i + 1 < k; ++i, at += n) {
          const V64 q = hn::ShiftRightSame(Mul32(v, magic), int(magic_shift));
          hn::StoreU(hn::Sub(v, Mul32(q, span_v)), d, at);
          v = q;
        }
        hn::StoreU(v, d, at);
        at += n;
        const auto flagged = hn::Eq(hn::And(m, flag_bits), zero);
        if (!hn::AllFalse(d, flagged)) [[unlikely]] {
          HWY_ALIGN std::uint64_t raw[HWY_MAX_BYTES / 8];
          hn::Store(word, d, raw);
          for (std::uint64_t l = 0; l < n; ++l)
            if (s.packed_rejects(std::uint32_t(raw[l]))) rejected[bad++] = 4 * (first + g + n * std::uint64_t(u) + l) + w;
        }
      };
      word_digits(w0, 0);
      word_digits(w1, 1);
      word_digits(w2, 2);
      word_digits(w3, 3);
    });
  });
  return bad;
#endif
}

/// Numpy stream, 32-bit Lemire mode: the offset d of every unit of blocks first + b,
/// or the span itself for a unit NumPy rejects (the caller's table has a cell for it).
void NumpyOffsets(const NumpyStream& s, TaskId t, std::uint64_t first, std::uint64_t blocks, std::uint64_t* out) {
#if HWY_TARGET == HWY_SCALAR
  (void)s, (void)t, (void)first, (void)blocks, (void)out;
#else
  const D64 d;
  const DI64 di;
  const std::uint64_t n = hn::Lanes(d);
  const Philox64Lanes philox(s.key(), t);
  const V64 span = hn::Set(d, s.span64()), threshold = hn::Set(d, s.threshold()), low32 = hn::Set(d, 0xffffffffu);
  std::uint64_t* at = out;
  ForGroups<kNumpyStep>(blocks, [&]<int V>(std::uint64_t g, std::integral_constant<int, V>) HWY_ATTR {
    philox.template Blocks<V>(first + g, [&](int, V64 w0, V64 w1, V64 w2, V64 w3) HWY_ATTR __attribute__((always_inline)) {
      auto word_offsets = [&](V64 word) HWY_ATTR __attribute__((always_inline)) {
        for (unsigned half = 0; half < 2; ++half, at += n) {
          const V64 m = Mul32(half == 0 ? word : hn::ShiftRight<32>(word), span);
          const auto rejected = hn::RebindMask(d, hn::Lt(hn::BitCast(di, hn::And(m, low32)), hn::BitCast(di, threshold)));
          hn::StoreU(hn::IfThenElse(rejected, span, hn::ShiftRight<32>(m)), d, at);
        }
      };
      word_offsets(w0);
      word_offsets(w1);
      word_offsets(w2);
      word_offsets(w3);
    });
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
HWY_EXPORT(NumpyWords);
HWY_EXPORT(BlockLanes);
HWY_EXPORT(FastDigits);
HWY_EXPORT(NumpyOffsets);

namespace {

/// Blocks generated per call: their words (or up to 80 digits per block) stay in cache.
constexpr std::uint64_t kBatch = 256;
constexpr std::uint64_t kDigitBatch = 64;

/// Up to four count tables (four when span ≤ 4096, where they stay in cache), counted
/// into 32-bit cells and flushed into the 64-bit counts every kFlush values.
struct Tables {
  static constexpr std::uint64_t kFlush = std::uint64_t{1} << 30;
  std::size_t span, count;
  std::vector<std::uint32_t> cells;
  std::uint64_t added = 0;
  /// `cells_per_table` ≥ span: a numpy table keeps one more cell for rejected units.
  explicit Tables(std::size_t s, std::size_t cells_per_table = 0)
      : span(s), count(s <= 4096 ? 4 : 1), cells(std::max(s, cells_per_table) * count, 0), stride(std::max(s, cells_per_table)) {}
  std::size_t stride;
  void flush(std::span<std::int64_t> counts) {
    // Modulo 2^32: a correction may take one table's cell below zero, never the total.
    for (std::size_t d = 0; d < span; ++d) {
      std::uint32_t total = 0;
      for (std::size_t k = 0; k < count; ++k) total += cells[k * stride + d];
      counts[d] += total;
    }
    std::fill(cells.begin(), cells.end(), 0);
    added = 0;
  }
  void maybe_flush(std::span<std::int64_t> counts) {
    if (added > kFlush) flush(counts);
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
  Tables tables(span);
  const std::uint64_t batch = std::max(lanes, kDigitBatch / lanes * lanes);
  std::vector<std::uint64_t> digits(4 * k * batch), rejected(4 * batch);
  std::uint32_t* cells = tables.cells.data();
  for (std::uint64_t p = 0; p < blocks; p += batch) {
    const std::uint64_t m = std::min(batch, blocks - p), n = 4 * k * m;
    const std::uint64_t bad = HWY_DYNAMIC_DISPATCH(FastDigits)(s, t, first_block + p, m, digits.data(), rejected.data());
    if (bad == ~std::uint64_t{0}) return add_counts_portable(s, t, {mid_begin, mid_end}, counts);  // scalar baseline
    const std::uint64_t* dg = digits.data();
    if (tables.count == 4) {
      const std::size_t st = tables.stride;
      std::uint64_t i = 0;
      for (; i + 4 <= n; i += 4) {
        ++cells[dg[i]];
        ++cells[st + dg[i + 1]];
        ++cells[2 * st + dg[i + 2]];
        ++cells[3 * st + dg[i + 3]];
      }
      for (; i < n; ++i) ++cells[dg[i]];
    } else {
      for (std::uint64_t i = 0; i < n; ++i) ++cells[dg[i]];
    }
    // Rejected words were counted with their first-try digits: swap in their replacements.
    for (std::uint64_t q = 0; q < bad; ++q) {
      const std::uint64_t j = rejected[q];
      const std::uint32_t word = s.block(t, j / 4)[j % 4];
      std::uint32_t wrong = std::uint32_t((std::uint64_t{word} * s.word_modulus()) >> 32), right = s.packed_value(t, j, word);
      for (unsigned i = 0; i < k; ++i, wrong /= span, right /= span) {
        --cells[wrong % span];
        ++cells[right % span];
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

  const bool lemire32 = s.mode() == NumpyStream::Mode::kLemire32;
  Tables tables(std::size_t(s.span64()), std::size_t(s.span64()) + 1);  // cell `span`: rejected units
  const std::uint64_t batch = std::max(lanes, kBatch / lanes * lanes);
  std::vector<std::uint64_t> words(8 * batch);
  std::uint32_t* cells = tables.cells.data();
  const std::size_t stride = tables.count == 4 ? tables.stride : 0;
  for (std::uint64_t p = 0; p < blocks; p += batch) {
    const std::uint64_t m = std::min(batch, blocks - p);
    if (lemire32 && lanes > 1) {
      HWY_DYNAMIC_DISPATCH(NumpyOffsets)(s, t, first_block + p, m, words.data());
      const std::uint64_t* d = words.data();
      for (std::uint64_t i = 0; i < 8 * m; i += 4) {
        ++cells[d[i]];
        ++cells[stride + d[i + 1]];
        ++cells[2 * stride + d[i + 2]];
        ++cells[3 * stride + d[i + 3]];
      }
    } else {
      HWY_DYNAMIC_DISPATCH(NumpyWords)(s, t, first_block + p, m, words.data());
      for (std::uint64_t b = 0; b < m; ++b) {
        const Philox4x64Ctr block = {words[b], words[m + b], words[2 * m + b], words[3 * m + b]};
        for (unsigned i = 0; i < per_block; ++i) {
          std::uint64_t d = 0;
          if (s.accept(s.unit_in_block(block, i), d)) ++cells[(i % 4) * stride + d];
        }
      }
    }
    tables.added += m * per_block;
    tables.maybe_flush(counts);
  }
  tables.flush(counts);
}

}  // namespace tally::core
#endif
