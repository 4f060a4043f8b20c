// AVX-512 path of the numpy stream, 32-bit Lemire mode: eight Philox4x64-10 blocks per
// iteration, 64×64→128-bit products from four vpmuludq, then NumPy's rule on each
// 32-bit half (low half first). The sum and the rejected count of raw units [a, b)
// are exactly NumpyStream::sum_scalar's.
#include "core/avx512.hpp"

#include <type_traits>

#include "core/kernel_numpy.hpp"

namespace tally::core {

namespace {

struct Product {
  __m512i hi, lo;
};

/// a · m as a 128-bit product per lane; m_lo/m_hi are the 32-bit halves of m.
/// Schoolbook on 32-bit halves, adding partial products in an order that cannot
/// overflow 64 bits: (2^32−1)² + 2(2^32−1) < 2^64.
TALLY_AVX512 inline Product mul_hilo(__m512i a, __m512i m, __m512i m_lo, __m512i m_hi, __m512i low32) {
  const __m512i a_hi = _mm512_srli_epi64(a, 32);
  const __m512i p00 = _mm512_mul_epu32(a, m_lo), p01 = _mm512_mul_epu32(a, m_hi);
  const __m512i p10 = _mm512_mul_epu32(a_hi, m_lo), p11 = _mm512_mul_epu32(a_hi, m_hi);
  const __m512i t0 = _mm512_add_epi64(p01, _mm512_srli_epi64(p00, 32));
  const __m512i t1 = _mm512_add_epi64(p10, _mm512_and_si512(t0, low32));
  const __m512i hi = _mm512_add_epi64(_mm512_add_epi64(p11, _mm512_srli_epi64(t0, 32)), _mm512_srli_epi64(t1, 32));
  return {hi, _mm512_mullo_epi64(a, m)};
}

/// Sums blocks [first_block, first_block + blocks) (a multiple of 8). With kRare the
/// hot loop adds every unit and corrects rejected ones out of line (for spans where
/// NumPy almost never rejects); otherwise it masks them.
template <bool kRare>
TALLY_AVX512 ChunkSum lemire32_blocks(const NumpyStream& s, TaskId t, std::uint64_t first_block,
                                      std::uint64_t blocks) {
  const Philox4x64Key key = s.key();
  __m512i k0[10], k1[10];
  for (unsigned r = 0; r < 10; ++r) {
    k0[r] = _mm512_set1_epi64(std::int64_t(key[0] + r * kPhilox64W0));
    k1[r] = _mm512_set1_epi64(std::int64_t(key[1] + r * kPhilox64W1));
  }
  const __m512i low32 = _mm512_set1_epi64(0xffffffff);
  const __m512i m0 = _mm512_set1_epi64(std::int64_t(kPhilox64M0)), m1 = _mm512_set1_epi64(std::int64_t(kPhilox64M1));
  const __m512i m0_lo = _mm512_and_si512(m0, low32), m0_hi = _mm512_srli_epi64(m0, 32);
  const __m512i m1_lo = _mm512_and_si512(m1, low32), m1_hi = _mm512_srli_epi64(m1, 32);
  const __m512i span = _mm512_set1_epi64(std::int64_t(s.span64()));
  const __m512i threshold = _mm512_set1_epi64(std::int64_t(s.threshold()));
  const __m512i task = _mm512_set1_epi64(std::int64_t(t));
  const __m512i lane = _mm512_set_epi64(8, 7, 6, 5, 4, 3, 2, 1);  // NumPy bumps the counter first

  __m512i acc = _mm512_setzero_si512();
  std::uint64_t rejected_count = 0, correction = 0;
  // Two independent groups of eight blocks per step: the Philox rounds are a long
  // dependency chain, and interleaving hides the multiply latency.
  auto step = [&]<int V>(std::uint64_t g, std::integral_constant<int, V>) TALLY_AVX512 {
    __m512i c0[V], c1[V], c2[V], c3[V];
    for (int v = 0; v < V; ++v) {
      c0[v] = _mm512_add_epi64(_mm512_set1_epi64(std::int64_t(first_block + g + 8 * std::uint64_t(v))), lane);
      c1[v] = _mm512_setzero_si512();
      c2[v] = task;
      c3[v] = _mm512_setzero_si512();
    }
    for (unsigned r = 0; r < 10; ++r) {
      for (int v = 0; v < V; ++v) {
        const Product p0 = mul_hilo(c0[v], m0, m0_lo, m0_hi, low32);
        const Product p1 = mul_hilo(c2[v], m1, m1_lo, m1_hi, low32);
        c0[v] = _mm512_ternarylogic_epi64(p1.hi, c1[v], k0[r], 0x96);
        c2[v] = _mm512_ternarylogic_epi64(p0.hi, c3[v], k1[r], 0x96);
        c1[v] = p1.lo;
        c3[v] = p0.lo;
      }
    }
    for (int v = 0; v < V; ++v) {
      const __m512i words[4] = {c0[v], c1[v], c2[v], c3[v]};
      __mmask8 any = 0;
      __mmask8 rejected[8];
      for (unsigned w = 0; w < 4; ++w) {
        for (unsigned half = 0; half < 2; ++half) {
          const __m512i x = half == 0 ? words[w] : _mm512_srli_epi64(words[w], 32);
          const __m512i m = _mm512_mul_epu32(x, span);
          const __m512i d = _mm512_srli_epi64(m, 32);
          const __mmask8 rej = _mm512_cmplt_epu64_mask(_mm512_and_si512(m, low32), threshold);
          if constexpr (kRare) {
            acc = _mm512_add_epi64(acc, d);
            rejected[2 * w + half] = rej;
            any |= rej;
          } else {
            acc = _mm512_mask_add_epi64(acc, __mmask8(~rej), acc, d);
            rejected_count += unsigned(__builtin_popcount(rej));
          }
        }
      }
      if constexpr (kRare) {
        if (any != 0) [[unlikely]] {
          for (unsigned i = 0; i < 8; ++i) {
            if (rejected[i] == 0) continue;
            alignas(64) std::uint64_t raw[8];
            _mm512_store_si512(raw, words[i / 2]);
            for (unsigned l = 0; l < 8; ++l) {
              if (!(rejected[i] >> l & 1)) continue;
              const std::uint64_t x = i % 2 == 0 ? raw[l] & 0xffffffff : raw[l] >> 32;
              correction += (x * s.span64()) >> 32;  // the value the loop added but NumPy rejects
              ++rejected_count;
            }
          }
        }
      }
    }
  };
  std::uint64_t g = 0;
  for (; g + 16 <= blocks; g += 16) step(g, std::integral_constant<int, 2>{});
  for (; g < blocks; g += 8) step(g, std::integral_constant<int, 1>{});
  const std::uint64_t units = blocks * 8;
  const std::uint64_t digits = std::uint64_t(_mm512_reduce_add_epi64(acc)) - correction;
  return {i128{s.range().lo} * i128(units - rejected_count) + i128(digits), rejected_count};
}

}  // namespace

ChunkSum sum_numpy_avx512(const NumpyStream& s, TaskId t, Index a, Index b) {
  constexpr std::uint64_t kUnits = 8;  // 32-bit units per Philox4x64 block
  const std::uint64_t first_block = (a + kUnits - 1) / kUnits, end_block = b / kUnits;
  if (end_block < first_block + 8) return sum_numpy_portable(s, t, a, b);
  const std::uint64_t blocks = (end_block - first_block) / 8 * 8;
  const Index mid_begin = first_block * kUnits, mid_end = (first_block + blocks) * kUnits;
  // Rare: at most one rejection per 2^16 units on average, so corrections are cheap.
  const bool rare = s.threshold() < (std::uint64_t{1} << 16);
  const ChunkSum middle = rare ? lemire32_blocks<true>(s, t, first_block, blocks)
                               : lemire32_blocks<false>(s, t, first_block, blocks);
  const ChunkSum head = sum_numpy_portable(s, t, a, mid_begin), tail = sum_numpy_portable(s, t, mid_end, b);
  return {middle.sum + head.sum + tail.sum, middle.missing + head.missing + tail.missing};
}

}  // namespace tally::core
