#pragma once
// Pieces of the fast stream's hand-written AVX-512 code (kernel_fast_avx512.cpp and the
// benchmarks' Philox floor): Philox4x32-10 on eight blocks per register, several groups
// interleaved, division by a packed span, and packed mode's word → value step with its
// out-of-line rejection check. Include only from AVX-512 files.
#include <cstdint>
#include <type_traits>

#include "core/avx512.hpp"
#include "core/philox.hpp"
#include "core/stream_fast.hpp"
#include "core/types.hpp"

namespace tally::core::avx512 {

/// floor(v / s) = (v · magic) >> shift for every v < 2^20 (Granlund–Montgomery with
/// N = 20, l = ceil(log2 s): magic = ceil(2^(N+l) / s) < 2^21).
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

/// Philox4x32-10 on V × 8 lanes at once: block numbers in 64-bit lanes, the four output
/// words each in the low half of a 64-bit lane. Several independent groups per step hide
/// the latency of the ten dependent rounds (the multiplier is the bottleneck).
struct Philox8 {
  __m512i k0[10], k1[10], retry_k1[10], m0, m1, task_lo, task_hi;
  TALLY_AVX512 Philox8(const Philox4x32Key& key, TaskId t) {
    for (unsigned r = 0; r < 10; ++r) {
      k0[r] = _mm512_set1_epi64(std::uint32_t(key[0] + r * kPhilox32W0));
      k1[r] = _mm512_set1_epi64(std::uint32_t(key[1] + r * kPhilox32W1));
      retry_k1[r] = _mm512_set1_epi64(std::uint32_t(~key[1] + r * kPhilox32W1));
    }
    m0 = _mm512_set1_epi64(kPhilox32M0);
    m1 = _mm512_set1_epi64(kPhilox32M1);
    task_lo = _mm512_set1_epi64(std::uint32_t(t));
    task_hi = _mm512_set1_epi64(std::uint32_t(t >> 32));
  }
  /// Blocks first + 8v + l (v < V, l < 8) into c[v][word] lane l.
  template <int V>
  TALLY_AVX512 inline void operator()(std::uint64_t first, __m512i (&c)[V][4]) const {
    const __m512i lane = _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0);
    for (int v = 0; v < V; ++v) {
      c[v][0] = _mm512_add_epi64(_mm512_set1_epi64(std::int64_t(first + 8 * std::uint64_t(v))), lane);
      c[v][1] = _mm512_srli_epi64(c[v][0], 32);
      c[v][2] = task_lo;
      c[v][3] = task_hi;
    }
    for (unsigned r = 0; r < 10; ++r) {
      for (int v = 0; v < V; ++v) {
        const __m512i p0 = _mm512_mul_epu32(c[v][0], m0), p1 = _mm512_mul_epu32(c[v][2], m1);
        c[v][0] = _mm512_ternarylogic_epi64(_mm512_srli_epi64(p1, 32), c[v][1], k0[r], 0x96);
        c[v][2] = _mm512_ternarylogic_epi64(_mm512_srli_epi64(p0, 32), c[v][3], k1[r], 0x96);
        c[v][1] = p1;
        c[v][3] = p0;
      }
    }
  }
  /// FastStream::retry_block for V × 8 (unit j, attempt a) pairs at once: counter
  /// (j mod 2^32, j >> 32, t mod 2^32, t >> 32), key (k0 + a, ~k1); a in 64-bit lanes.
  template <int V>
  TALLY_AVX512 inline void retry(const __m512i (&j)[V], const __m512i (&a)[V], __m512i (&c)[V][4]) const {
    for (int v = 0; v < V; ++v) {
      c[v][0] = j[v];
      c[v][1] = _mm512_srli_epi64(j[v], 32);
      c[v][2] = task_lo;
      c[v][3] = task_hi;
    }
    for (unsigned r = 0; r < 10; ++r) {
      for (int v = 0; v < V; ++v) {
        const __m512i p0 = _mm512_mul_epu32(c[v][0], m0), p1 = _mm512_mul_epu32(c[v][2], m1);
        // k0 + a may carry past bit 31: only the low halves of the lanes are ever read.
        c[v][0] = _mm512_ternarylogic_epi64(_mm512_srli_epi64(p1, 32), c[v][1], _mm512_add_epi64(k0[r], a[v]), 0x96);
        c[v][2] = _mm512_ternarylogic_epi64(_mm512_srli_epi64(p0, 32), c[v][3], retry_k1[r], 0x96);
        c[v][1] = p1;
        c[v][3] = p0;
      }
    }
  }
};

/// Packed mode, K base-s digits per 32-bit word w: the value v = (w · M) >> 32 < s^K and
/// what dividing it by s takes. kPow2: s is a power of two, so M = 2^(K·log2 s), nothing
/// is rejected, v is the top bits of w and digits come by shifts.
template <unsigned K, bool kPow2>
struct PackedWords {
  __m512i modulus, low32, flag_bits, magic;
  __m128i word_shift, shift;  // shift: v → v / s (kPow2: by log2 s, else with `magic`)
  TALLY_AVX512 explicit PackedWords(const FastStream& s) {
    const Divider divider(s.span32());
    unsigned log2_s = 0;
    while ((1u << log2_s) < s.span32()) ++log2_s;
    modulus = _mm512_set1_epi64(s.word_modulus());
    low32 = _mm512_set1_epi64(0xffffffff);
    // The threshold 2^32 mod M is below M ≤ 2^20: a rejected word has (w·M) mod 2^32
    // below 2^20. Those lanes (the top 12 bits of the low half zero) are flagged and
    // checked exactly out of line.
    flag_bits = _mm512_set1_epi64(0xfff00000);
    magic = _mm512_set1_epi64(std::int64_t(divider.magic));
    word_shift = _mm_cvtsi32_si128(int(32 - K * log2_s));
    shift = _mm_cvtsi32_si128(int(kPow2 ? log2_s : divider.shift));
  }
  /// The value of each lane's word; sets `flagged` for lanes that may be rejections.
  TALLY_AVX512 inline __m512i value(__m512i word, __mmask8& flagged) const {
    if constexpr (kPow2) {
      return _mm512_srl_epi64(_mm512_and_si512(word, low32), word_shift);
    } else {
      const __m512i m = _mm512_mul_epu32(word, modulus);
      flagged = _mm512_testn_epi64_mask(m, flag_bits);
      return _mm512_srli_epi64(m, 32);
    }
  }
  /// Calls rejected(j, w, bad) for every flagged lane whose word FastStream rejects: j the
  /// word's address (4 · block + word), w the word, bad the value the vector code used.
  /// `words` holds blocks first_block + l (lane l).
  template <class Rejected>
  TALLY_AVX512 static void for_rejected(const FastStream& s, std::uint64_t first_block, const __m512i (&words)[4],
                           const __mmask8 (&flagged)[4], Rejected&& rejected) {
    for (unsigned w = 0; w < 4; ++w) {
      if (flagged[w] == 0) continue;
      alignas(64) std::uint64_t raw[8];
      _mm512_store_si512(raw, words[w]);
      for (unsigned l = 0; l < 8; ++l) {
        const auto word = std::uint32_t(raw[l]);
        if (!(flagged[w] >> l & 1) || !s.packed_rejects(word)) continue;
        rejected(4 * (first_block + l) + w, word, std::uint32_t((std::uint64_t(word) * s.word_modulus()) >> 32));
      }
    }
  }
};

/// Groups of eight blocks interleaved per step: the ten dependent rounds are a long
/// chain, and independent groups hide the multiply latency. Measured on a Zen 5 core,
/// ns per number for span 100 / 2^40: 1 group 0.20 / 1.00, 2 0.17 / 0.91, 4 0.11 / 0.59,
/// 6 0.100 / 0.52, 8 0.12 / 0.67 (registers spill).
constexpr int kStep = 6;

}  // namespace tally::core::avx512
