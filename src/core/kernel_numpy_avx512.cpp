// AVX-512 paths of the numpy stream: eight Philox4x64-10 blocks per group, four groups
// interleaved per step, 64×64→128-bit products from four vpmuludq, then NumPy's rule on
// every raw unit: 32-bit halves (low half first) for spans up to 2^32, whole words above.
// The sum and the rejected count of raw units [a, b) are exactly
// NumpyStream::sum_scalar's, for every mode.
#include "core/numpy_avx512.hpp"

#include <algorithm>
#include <bit>
#include <type_traits>

#include "core/kernel_numpy.hpp"

namespace tally::core {

namespace {

/// How a numpy unit becomes an offset: the stream's four drawing modes.
enum class Unit { kLemire32, kRaw32, kLemire64, kRaw64 };
/// kNone: no unit can be rejected (s a power of two); kRare: every unit is added and
/// rejected ones are subtracted out of line; kMasked: rejected units are masked in the loop.
enum class Rejects { kNone, kRare, kMasked };

/// Blocks per call of the vector loop: a 64-bit lane then adds at most 2^24 / 8 · 8 = 2^24
/// numbers per accumulator, each below 2^32, so no lane can overflow however long the
/// range. Pieces are added in 128 bits.
constexpr std::uint64_t kPiece = std::uint64_t{1} << 24;

/// Bits of the high half of (x·s) mod 2^64 (held in the low half of a lane) that are all
/// zero when (x·s) mod 2^64 < threshold: a one-instruction test that flags every rejected
/// unit and, for a threshold near 2^k, about as many accepted ones.
inline std::uint64_t candidate_bits(std::uint64_t threshold) {
  const unsigned width = unsigned(std::bit_width(threshold));  // threshold < 2^width
  return width <= 32 ? 0xffffffffu : 0xffffffffu & ~((std::uint64_t{1} << (width - 32)) - 1);
}

struct Offsets {
  u128 sum = 0;  ///< sum of the accepted units' offsets d
  std::uint64_t missing = 0;
};

/// Sums blocks [first_block, first_block + blocks) (a multiple of 8, at most kPiece).
template <Unit U, Rejects R>
TALLY_AVX512 Offsets numpy_blocks(const NumpyStream& s, TaskId t, std::uint64_t first_block, std::uint64_t blocks) {
  const avx512::Philox64x8 philox(s.key(), t);
  const __m512i low32 = _mm512_set1_epi64(0xffffffff);
  const __m512i span = _mm512_set1_epi64(std::int64_t(s.span64()));
  const __m512i span_lo = _mm512_and_si512(span, low32), span_hi = _mm512_srli_epi64(span, 32);
  const __m512i threshold = _mm512_set1_epi64(std::int64_t(s.threshold()));
  const __m512i flag_bits = _mm512_set1_epi64(std::int64_t(candidate_bits(s.threshold())));
  // Lanes sum numbers below 2^32: 32-bit offsets in acc_lo; raw 64-bit units as halves
  // (acc_lo low, acc_hi high); 64-bit Lemire offsets as three parts (acc_lo, acc_hi, acc_x).
  __m512i acc_lo = _mm512_setzero_si512(), acc_hi = _mm512_setzero_si512(), acc_x = _mm512_setzero_si512();
  std::uint64_t rejected_count = 0;
  u128 correction = 0;  // offsets the loop added for units NumPy rejects
  auto step = [&]<int V>(std::uint64_t g, std::integral_constant<int, V>) TALLY_AVX512 {
    __m512i c[V][4];
    philox.template operator()<V>(first_block + g, c);
    for (int v = 0; v < V; ++v) {
      const __m512i(&words)[4] = c[v];
      constexpr unsigned kUnits = U == Unit::kLemire32 || U == Unit::kRaw32 ? 8 : 4;  // per block, in order
      __mmask8 rejected[kUnits] = {};
      __mmask8 any = 0;
      for (unsigned i = 0; i < kUnits; ++i) {
        if constexpr (U == Unit::kRaw32) {
          const __m512i x = i % 2 == 0 ? _mm512_and_si512(words[i / 2], low32) : _mm512_srli_epi64(words[i / 2], 32);
          acc_lo = _mm512_add_epi64(acc_lo, x);
        } else if constexpr (U == Unit::kRaw64) {
          acc_lo = _mm512_add_epi64(acc_lo, _mm512_and_si512(words[i], low32));
          acc_hi = _mm512_add_epi64(acc_hi, _mm512_srli_epi64(words[i], 32));
        } else {
          __mmask8 rej;
          if constexpr (U == Unit::kLemire32) {
            const __m512i x = i % 2 == 0 ? words[i / 2] : _mm512_srli_epi64(words[i / 2], 32);
            const __m512i m = _mm512_mul_epu32(x, span);
            const __m512i d = _mm512_srli_epi64(m, 32);
            rej = _mm512_cmplt_epu64_mask(_mm512_and_si512(m, low32), threshold);
            const __mmask8 keep = R == Rejects::kMasked ? __mmask8(~rej) : __mmask8(0xff);
            acc_lo = _mm512_mask_add_epi64(acc_lo, keep, acc_lo, d);
          } else {
            // d = ⌊x·s / 2^64⌋ = x_hi·s_hi + ⌊t0 / 2^32⌋ + ⌊t1 / 2^32⌋ with the partial
            // products below; x_hi·s_hi is summed as s_hi·Σx_hi after the loop, which
            // saves the fourth multiply. The three sums take numbers below 2^32.
            const __m512i x = words[i], x_hi = _mm512_srli_epi64(x, 32);
            const __m512i p00 = _mm512_mul_epu32(x, span_lo), p01 = _mm512_mul_epu32(x, span_hi);
            const __m512i p10 = _mm512_mul_epu32(x_hi, span_lo);
            const __m512i t0 = _mm512_add_epi64(p01, _mm512_srli_epi64(p00, 32));
            const __m512i t1 = _mm512_add_epi64(p10, _mm512_and_si512(t0, low32));
            if constexpr (R == Rejects::kNone) {
              rej = 0;  // s is a power of two: NumPy never rejects
            } else if constexpr (R == Rejects::kRare) {
              // t1's low half is the high half of (x·s) mod 2^64: one test flags every
              // rejected x (and about as many others), checked exactly out of line.
              rej = _mm512_testn_epi64_mask(t1, flag_bits);
            } else {
              const __m512i lo = _mm512_ternarylogic_epi64(_mm512_slli_epi64(t1, 32), p00, low32, 0xF8);
              rej = _mm512_cmplt_epu64_mask(lo, threshold);
            }
            const __mmask8 keep = R == Rejects::kMasked ? __mmask8(~rej) : __mmask8(0xff);
            acc_lo = _mm512_mask_add_epi64(acc_lo, keep, acc_lo, _mm512_srli_epi64(t0, 32));
            acc_hi = _mm512_mask_add_epi64(acc_hi, keep, acc_hi, _mm512_srli_epi64(t1, 32));
            acc_x = _mm512_mask_add_epi64(acc_x, keep, acc_x, x_hi);
          }
          if constexpr (R == Rejects::kMasked) {
            rejected_count += unsigned(__builtin_popcount(rej));
          } else if constexpr (R == Rejects::kRare) {
            rejected[i] = rej;
            any |= rej;
          }
        }
      }
      if constexpr (R == Rejects::kRare) {
        if (any != 0) [[unlikely]] {
          for (unsigned i = 0; i < kUnits; ++i) {
            if (rejected[i] == 0) continue;
            alignas(64) std::uint64_t raw[8];
            _mm512_store_si512(raw, words[U == Unit::kLemire32 ? i / 2 : i]);
            for (unsigned l = 0; l < 8; ++l) {
              if (!(rejected[i] >> l & 1)) continue;
              std::uint64_t x = raw[l];
              if constexpr (U == Unit::kLemire32) x = i % 2 == 0 ? x & 0xffffffff : x >> 32;
              std::uint64_t d = 0;
              if (s.accept(x, d)) continue;  // flagged but accepted (64-bit candidates)
              correction += d;               // the offset the loop added although NumPy rejects x
              ++rejected_count;
            }
          }
        }
      }
    }
  };
  avx512::for_groups<avx512::kNumpyStep>(blocks, step);
  alignas(64) std::uint64_t lo[8], hi[8], xs[8];
  _mm512_store_si512(lo, acc_lo);
  _mm512_store_si512(hi, acc_hi);
  _mm512_store_si512(xs, acc_x);
  Offsets out;
  for (unsigned l = 0; l < 8; ++l) {
    if constexpr (U == Unit::kRaw64) out.sum += u128{lo[l]} + (u128{hi[l]} << 32);
    else if constexpr (U == Unit::kLemire64) out.sum += u128{lo[l]} + hi[l] + u128{xs[l]} * (s.span64() >> 32);
    else out.sum += lo[l];
  }
  out.sum -= correction;
  out.missing = rejected_count;
  return out;
}

using NumpyBlocks = Offsets (*)(const NumpyStream&, TaskId, std::uint64_t, std::uint64_t);

NumpyBlocks pick(const NumpyStream& s, RejectPath path) {
  // Rare: at most one rejection per 2^16 units on average, so corrections are cheap.
  const bool wide = s.wide();
  const bool rare = path == RejectPath::kAuto ? s.threshold() < (std::uint64_t{1} << (wide ? 48 : 16))
                                              : path == RejectPath::kRare;
  switch (s.mode()) {
    case NumpyStream::Mode::kRaw32: return &numpy_blocks<Unit::kRaw32, Rejects::kNone>;
    case NumpyStream::Mode::kRaw64: return &numpy_blocks<Unit::kRaw64, Rejects::kNone>;
    case NumpyStream::Mode::kLemire32:
      return rare ? &numpy_blocks<Unit::kLemire32, Rejects::kRare> : &numpy_blocks<Unit::kLemire32, Rejects::kMasked>;
    case NumpyStream::Mode::kLemire64:
      if (s.threshold() == 0 && path == RejectPath::kAuto) return &numpy_blocks<Unit::kLemire64, Rejects::kNone>;
      return rare ? &numpy_blocks<Unit::kLemire64, Rejects::kRare> : &numpy_blocks<Unit::kLemire64, Rejects::kMasked>;
    case NumpyStream::Mode::kConstant: break;
  }
  return nullptr;
}

}  // namespace

ChunkSum sum_numpy_avx512(const NumpyStream& s, TaskId t, Index a, Index b, RejectPath path) {
  const NumpyBlocks kernel = pick(s, path);
  const std::uint64_t per_block = s.units_per_block();
  const std::uint64_t first_block = (a + per_block - 1) / per_block, end_block = b / per_block;
  if (kernel == nullptr || end_block < first_block + 8) return sum_numpy_portable(s, t, a, b);
  const std::uint64_t blocks = (end_block - first_block) / 8 * 8;
  const Index mid_begin = first_block * per_block, mid_end = (first_block + blocks) * per_block;
  Offsets middle;
  for (std::uint64_t p = 0; p < blocks; p += std::min(kPiece, blocks - p)) {
    const Offsets part = kernel(s, t, first_block + p, std::min(kPiece, blocks - p));
    middle.sum += part.sum;
    middle.missing += part.missing;
  }
  const i128 mid_sum = i128{s.range().lo} * i128(mid_end - mid_begin - middle.missing) + i128(middle.sum);
  const ChunkSum head = sum_numpy_portable(s, t, a, mid_begin), tail = sum_numpy_portable(s, t, mid_end, b);
  return {mid_sum + head.sum + tail.sum, middle.missing + head.missing + tail.missing};
}

}  // namespace tally::core
