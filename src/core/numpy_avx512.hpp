#pragma once
// Pieces shared by the numpy stream's AVX-512 code (kernel_numpy_avx512.cpp and
// histogram_avx512.cpp): Philox4x64-10 on eight blocks per register, several groups
// interleaved, with 64×64→128-bit products from vpmuludq. Include only from AVX-512 files.
#include <cstdint>

#include "core/avx512.hpp"
#include "core/philox.hpp"
#include "core/types.hpp"

namespace tally::core::avx512 {

struct Product {
  __m512i hi, lo;
};

/// a · m as a 128-bit product per lane; m_lo/m_hi are the 32-bit halves of m.
/// Schoolbook on 32-bit halves, adding partial products in an order that cannot
/// overflow 64 bits: (2^32−1)² + 2(2^32−1) < 2^64. The low word is one vpmullq
/// (measured as fast as assembling it from the partial products).
TALLY_AVX512 inline Product mul_hilo(__m512i a, __m512i m, __m512i m_lo, __m512i m_hi, __m512i low32) {
  const __m512i a_hi = _mm512_srli_epi64(a, 32);
  const __m512i p00 = _mm512_mul_epu32(a, m_lo), p01 = _mm512_mul_epu32(a, m_hi);
  const __m512i p10 = _mm512_mul_epu32(a_hi, m_lo), p11 = _mm512_mul_epu32(a_hi, m_hi);
  const __m512i t0 = _mm512_add_epi64(p01, _mm512_srli_epi64(p00, 32));
  const __m512i t1 = _mm512_add_epi64(p10, _mm512_and_si512(t0, low32));
  const __m512i hi = _mm512_add_epi64(_mm512_add_epi64(p11, _mm512_srli_epi64(t0, 32)), _mm512_srli_epi64(t1, 32));
  return {hi, _mm512_mullo_epi64(a, m)};
}

/// Groups of eight blocks interleaved per step: the ten dependent rounds are a long
/// chain, and independent groups hide the multiply latency (measured per unit on a Zen 5
/// core for span 100: 1 group 0.99 ns, 2 groups 0.57, 3 0.47, 4 0.44, 5 0.47, 6+ spill).
constexpr int kNumpyStep = 4;

/// Philox4x64-10 of NumPy's counters (b + 1, 0, t, 0) for V × 8 blocks b at once.
struct Philox64x8 {
  __m512i k0[10], k1[10], low32, m0, m1, m0_lo, m0_hi, m1_lo, m1_hi, task;
  TALLY_AVX512 Philox64x8(const Philox4x64Key& key, TaskId t) {
    for (unsigned r = 0; r < 10; ++r) {
      k0[r] = _mm512_set1_epi64(std::int64_t(key[0] + r * kPhilox64W0));
      k1[r] = _mm512_set1_epi64(std::int64_t(key[1] + r * kPhilox64W1));
    }
    low32 = _mm512_set1_epi64(0xffffffff);
    m0 = _mm512_set1_epi64(std::int64_t(kPhilox64M0));
    m1 = _mm512_set1_epi64(std::int64_t(kPhilox64M1));
    m0_lo = _mm512_and_si512(m0, low32);
    m0_hi = _mm512_srli_epi64(m0, 32);
    m1_lo = _mm512_and_si512(m1, low32);
    m1_hi = _mm512_srli_epi64(m1, 32);
    task = _mm512_set1_epi64(std::int64_t(t));
  }
  /// Blocks first + 8v + l (v < V, l < 8) into c[v][word] lane l.
  template <int V>
  TALLY_AVX512 inline void operator()(std::uint64_t first, __m512i (&c)[V][4]) const {
    const __m512i lane = _mm512_set_epi64(8, 7, 6, 5, 4, 3, 2, 1);  // NumPy bumps the counter first
    for (int v = 0; v < V; ++v) {
      c[v][0] = _mm512_add_epi64(_mm512_set1_epi64(std::int64_t(first + 8 * std::uint64_t(v))), lane);
      c[v][1] = _mm512_setzero_si512();
      c[v][2] = task;
      c[v][3] = _mm512_setzero_si512();
    }
    for (unsigned r = 0; r < 10; ++r) {
      for (int v = 0; v < V; ++v) {
        const Product p0 = mul_hilo(c[v][0], m0, m0_lo, m0_hi, low32);
        const Product p1 = mul_hilo(c[v][2], m1, m1_lo, m1_hi, low32);
        c[v][0] = _mm512_ternarylogic_epi64(p1.hi, c[v][1], k0[r], 0x96);
        c[v][2] = _mm512_ternarylogic_epi64(p0.hi, c[v][3], k1[r], 0x96);
        c[v][1] = p1.lo;
        c[v][3] = p0.lo;
      }
    }
  }
};

}  // namespace tally::core::avx512
