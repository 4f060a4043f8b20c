// AVX-512 histograms: Philox blocks and values in vector registers (as the sum
// kernels), values written as 16-bit numbers to a small buffer, then counted by a
// scalar loop into four count tables in turn, so that runs of equal values do not wait
// on each other's increments. Fast stream, packed mode: base-s digits; rejected words
// (p ≤ 2^-12) are counted like the others and corrected out of line by their
// (task, word) address. Numpy stream (spans ≤ 2^16, 32-bit Lemire): every unit is
// counted and the rare rejected ones (p < 2^-16) are taken back out of line. Counts are
// exact and independent of the split.
#include "core/fast_avx512.hpp"
#include "core/numpy_avx512.hpp"

#include <algorithm>
#include <utility>
#include <vector>

#include "core/histogram.hpp"
#include "core/stream_fast.hpp"
#include "core/stream_numpy.hpp"

namespace tally::core {

namespace {

using avx512::for_groups;
using avx512::kNumpyStep;
using avx512::Philox64x8;
using avx512::kStep;
using avx512::PackedWords;
using avx512::Philox8;

/// Blocks per call: at most 4·20 digits (fast) or 8 units (numpy) per block, so a 32-bit
/// table entry counts at most 2^24 · 80 < 2^31 values before it is added to the 64-bit
/// counts.
constexpr std::uint64_t kPiece = std::uint64_t{1} << 24;

/// Up to four count tables, span entries each. Digits go to table i mod kTables.
struct Tables {
  std::size_t span, count;
  std::vector<std::uint32_t> cells;
  Tables(std::size_t s, std::size_t n) : span(s), count(n), cells(s * n, 0) {}
  void flush(std::span<std::int64_t> counts) {
    for (std::size_t k = 0; k < count; ++k)
      for (std::size_t d = 0; d < span; ++d) counts[d] += cells[k * span + d];
    std::fill(cells.begin(), cells.end(), 0);
  }
};

/// Counts the n digits in `digits` (n a multiple of 8).
inline void count_digits(const std::uint16_t* digits, std::size_t n, Tables& tables) {
  std::uint32_t* cells = tables.cells.data();
  if (tables.count == 4) {
    const std::size_t span = tables.span;
    for (std::size_t i = 0; i < n; i += 4) {
      ++cells[digits[i]];
      ++cells[span + digits[i + 1]];
      ++cells[2 * span + digits[i + 2]];
      ++cells[3 * span + digits[i + 3]];
    }
  } else {
    for (std::size_t i = 0; i < n; ++i) ++cells[digits[i]];
  }
}

template <unsigned K, bool kPow2>
TALLY_AVX512 void packed_counts(const FastStream& s, TaskId t, std::uint64_t first_block, std::uint64_t blocks,
                                Tables& tables, std::span<std::int64_t> counts) {
  const Philox8 philox(s.key(), t);
  const PackedWords<K, kPow2> packed(s);
  const __m512i span = _mm512_set1_epi64(s.span32());
  const __m512i digit_mask = _mm512_set1_epi64(s.span32() - 1);

  alignas(64) std::uint16_t digits[kStep * 4 * 8 * K];
  for_groups<kStep>(blocks, [&]<int V>(std::uint64_t g, std::integral_constant<int, V>) TALLY_AVX512 {
    __m512i c[V][4];
    philox.template operator()<V>(first_block + g, c);
    std::size_t n = 0;
    for (int u = 0; u < V; ++u) {
      __mmask8 flagged[4] = {0, 0, 0, 0};
      for (unsigned w = 0; w < 4; ++w) {
        __m512i v = packed.value(c[u][w], flagged[w]);
        for (unsigned i = 0; i < K; ++i) {
          __m512i digit;
          if constexpr (kPow2) {
            digit = _mm512_and_si512(v, digit_mask);
            v = _mm512_srl_epi64(v, packed.shift);
          } else if (i + 1 < K) {
            const __m512i q = _mm512_srl_epi64(_mm512_mul_epu32(v, packed.magic), packed.shift);
            digit = _mm512_sub_epi64(v, _mm512_mul_epu32(q, span));
            v = q;
          } else {
            digit = v;  // v < s^K, so the last quotient is the top digit
          }
          _mm_store_si128(reinterpret_cast<__m128i*>(digits + n), _mm512_cvtepi64_epi16(digit));
          n += 8;
        }
      }
      if ((flagged[0] | flagged[1] | flagged[2] | flagged[3]) != 0) [[unlikely]] {
        // Take back the digits of each rejected word, count those of its replacement.
        packed.for_rejected(s, first_block + g + 8 * std::uint64_t(u), c[u], flagged,
                            [&](std::uint64_t j, std::uint32_t word, std::uint32_t bad) {
                              std::uint32_t good = s.packed_value(t, j, word);
                              for (unsigned i = 0; i < K; ++i, bad /= s.span32(), good /= s.span32()) {
                                --counts[bad % s.span32()];
                                ++counts[good % s.span32()];
                              }
                            });
      }
    }
    count_digits(digits, n, tables);
  });
}

using PackedCounts = void (*)(const FastStream&, TaskId, std::uint64_t, std::uint64_t, Tables&,
                              std::span<std::int64_t>);

template <unsigned... Ks>
PackedCounts pick(unsigned k, bool pow2, std::integer_sequence<unsigned, Ks...>) {
  PackedCounts chosen = nullptr;
  ((k == Ks + 1 ? (chosen = pow2 ? &packed_counts<Ks + 1, true> : &packed_counts<Ks + 1, false>, 0) : 0), ...);
  return chosen;
}

/// Numpy stream, 32-bit Lemire with s ≤ 2^16: counts the accepted units of blocks
/// [first_block, first_block + blocks).
TALLY_AVX512 void lemire32_counts(const NumpyStream& s, TaskId t, std::uint64_t first_block, std::uint64_t blocks,
                                  Tables& tables, std::span<std::int64_t> counts) {
  const Philox64x8 philox(s.key(), t);
  const __m512i span = _mm512_set1_epi64(std::int64_t(s.span64()));
  // The threshold 2^32 mod s is below s ≤ 2^16: a rejected unit has (x·s) mod 2^32 below
  // 2^16. Flag those (the top 16 bits of the low half zero) and check exactly out of line.
  const __m512i flag_bits = _mm512_set1_epi64(0xffff0000);
  alignas(64) std::uint16_t values[kNumpyStep * 8 * 8];
  for_groups<kNumpyStep>(blocks, [&]<int V>(std::uint64_t g, std::integral_constant<int, V>) TALLY_AVX512 {
    __m512i c[V][4];
    philox.template operator()<V>(first_block + g, c);
    std::size_t n = 0;
    for (int v = 0; v < V; ++v) {
      __mmask8 flagged[8];
      __mmask8 any = 0;
      for (unsigned i = 0; i < 8; ++i) {
        const __m512i x = i % 2 == 0 ? c[v][i / 2] : _mm512_srli_epi64(c[v][i / 2], 32);
        const __m512i m = _mm512_mul_epu32(x, span);
        flagged[i] = _mm512_testn_epi64_mask(m, flag_bits);
        any |= flagged[i];
        _mm_store_si128(reinterpret_cast<__m128i*>(values + n), _mm512_cvtepi64_epi16(_mm512_srli_epi64(m, 32)));
        n += 8;
      }
      if (any != 0) [[unlikely]] {
        for (unsigned i = 0; i < 8; ++i) {
          if (flagged[i] == 0) continue;
          alignas(64) std::uint64_t raw[8];
          _mm512_store_si512(raw, c[v][i / 2]);
          for (unsigned l = 0; l < 8; ++l) {
            if (!(flagged[i] >> l & 1)) continue;
            std::uint64_t d = 0;
            if (!s.accept(i % 2 == 0 ? raw[l] & 0xffffffff : raw[l] >> 32, d)) --counts[d];  // counted, but rejected
          }
        }
      }
    }
    count_digits(values, n, tables);
  });
}

}  // namespace

void add_counts_avx512(const NumpyStream& s, TaskId t, IndexRange r, std::span<std::int64_t> counts) {
  if (s.mode() != NumpyStream::Mode::kLemire32 || s.span64() > (std::uint64_t{1} << 16))
    return add_counts_portable(s, t, r, counts);
  constexpr std::uint64_t kUnits = 8;  // 32-bit units per Philox4x64 block
  const std::uint64_t first_block = (r.begin + kUnits - 1) / kUnits, end_block = r.end / kUnits;
  if (end_block < first_block + 8) return add_counts_portable(s, t, r, counts);
  const std::uint64_t blocks = (end_block - first_block) / 8 * 8;
  const Index mid_begin = first_block * kUnits, mid_end = (first_block + blocks) * kUnits;
  Tables tables(std::size_t(s.span64()), s.span64() <= 2048 ? 4 : 1);
  for (std::uint64_t p = 0; p < blocks; p += std::min(kPiece, blocks - p)) {
    lemire32_counts(s, t, first_block + p, std::min(kPiece, blocks - p), tables, counts);
    tables.flush(counts);
  }
  add_counts_portable(s, t, {r.begin, mid_begin}, counts);
  add_counts_portable(s, t, {mid_end, r.end}, counts);
}

void add_counts_avx512(const FastStream& s, TaskId t, IndexRange r, std::span<std::int64_t> counts) {
  if (s.mode() != FastStream::Mode::kPacked) return add_counts_portable(s, t, r, counts);
  const std::uint64_t per_block = 4 * std::uint64_t(s.digits());
  const std::uint64_t first_block = (r.begin + per_block - 1) / per_block, end_block = r.end / per_block;
  if (end_block < first_block + 8) return add_counts_portable(s, t, r, counts);
  const std::uint64_t blocks = (end_block - first_block) / 8 * 8;
  const Index mid_begin = first_block * per_block, mid_end = (first_block + blocks) * per_block;
  const PackedCounts kernel =
      pick(s.digits(), (s.span32() & (s.span32() - 1)) == 0, std::make_integer_sequence<unsigned, 20>{});
  // Four tables while they fit in the first-level cache; wide spans rarely repeat a digit.
  Tables tables(s.span32(), s.span32() <= 2048 ? 4 : 1);
  for (std::uint64_t p = 0; p < blocks; p += std::min(kPiece, blocks - p)) {
    kernel(s, t, first_block + p, std::min(kPiece, blocks - p), tables, counts);
    tables.flush(counts);
  }
  add_counts_portable(s, t, {r.begin, mid_begin}, counts);
  add_counts_portable(s, t, {mid_end, r.end}, counts);
}

}  // namespace tally::core
