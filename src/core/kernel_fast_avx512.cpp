// AVX-512 path of the fast stream, packed mode: eight Philox4x32-10 blocks per
// iteration, 32-bit words held in 64-bit lanes (vpmuludq reads the low halves, so
// high-half garbage is harmless), base-s digit sums by multiply-shift division,
// accumulation in registers. Rejected words (p ≤ 2^-12) are summed like the others and
// corrected out of line by their (task, word) address, so the sum never depends on the
// split.
#include "core/avx512.hpp"

#include <utility>

#include "core/kernel_fast.hpp"

namespace tally::core {

namespace {

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

template <unsigned K>
TALLY_AVX512 std::uint64_t packed_blocks(const FastStream& s, TaskId t, std::uint64_t first_block,
                                         std::uint64_t blocks, std::uint64_t& redo_digits) {
  const Philox4x32Key key = s.key();
  __m512i k0[10], k1[10];
  for (unsigned r = 0; r < 10; ++r) {
    k0[r] = _mm512_set1_epi64(std::uint32_t(key[0] + r * kPhilox32W0));
    k1[r] = _mm512_set1_epi64(std::uint32_t(key[1] + r * kPhilox32W1));
  }
  const __m512i m0 = _mm512_set1_epi64(kPhilox32M0), m1 = _mm512_set1_epi64(kPhilox32M1);
  const __m512i modulus = _mm512_set1_epi64(s.word_modulus());
  const __m512i threshold = _mm512_set1_epi64(s.packed_threshold());
  const __m512i low32 = _mm512_set1_epi64(0xffffffff);
  const Divider divider(s.span32());
  const __m512i magic = _mm512_set1_epi64(std::int64_t(divider.magic));
  const __m128i shift = _mm_cvtsi32_si128(int(divider.shift));
  const __m512i task_lo = _mm512_set1_epi64(std::uint32_t(t)), task_hi = _mm512_set1_epi64(std::uint32_t(t >> 32));
  const __m512i lane = _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0);

  // Sum of digits of v = v − (s−1)·Σ⌊v/s^i⌋: accumulate v and the quotients apart and
  // combine once at the end. Rejected lanes are added like the others and corrected
  // out of line, which keeps masks out of the hot loop.
  __m512i acc_v = _mm512_setzero_si512(), acc_q = _mm512_setzero_si512();
  std::uint64_t correction = 0;  // modulo 2^64
  for (std::uint64_t g = 0; g < blocks; g += 8) {
    const __m512i ctr = _mm512_add_epi64(_mm512_set1_epi64(std::int64_t(first_block + g)), lane);
    __m512i c0 = ctr, c1 = _mm512_srli_epi64(ctr, 32), c2 = task_lo, c3 = task_hi;
    for (unsigned r = 0; r < 10; ++r) {
      const __m512i p0 = _mm512_mul_epu32(c0, m0), p1 = _mm512_mul_epu32(c2, m1);
      c0 = _mm512_ternarylogic_epi64(_mm512_srli_epi64(p1, 32), c1, k0[r], 0x96);
      c2 = _mm512_ternarylogic_epi64(_mm512_srli_epi64(p0, 32), c3, k1[r], 0x96);
      c1 = p1;
      c3 = p0;
    }
    const __m512i words[4] = {c0, c1, c2, c3};
    __mmask8 rejected[4];
    for (unsigned w = 0; w < 4; ++w) {
      const __m512i m = _mm512_mul_epu32(words[w], modulus);
      const __m512i v = _mm512_srli_epi64(m, 32);
      rejected[w] = _mm512_cmplt_epu64_mask(_mm512_and_si512(m, low32), threshold);
      __m512i q = v;
      for (unsigned i = 1; i < K; ++i) {
        q = _mm512_srl_epi64(_mm512_mul_epu32(q, magic), shift);
        acc_q = _mm512_add_epi64(acc_q, q);
      }
      acc_v = _mm512_add_epi64(acc_v, v);
    }
    if ((rejected[0] | rejected[1] | rejected[2] | rejected[3]) != 0) [[unlikely]] {
      for (unsigned w = 0; w < 4; ++w) {
        if (rejected[w] == 0) continue;
        alignas(64) std::uint64_t raw[8];
        _mm512_store_si512(raw, words[w]);
        for (unsigned l = 0; l < 8; ++l) {
          if (!(rejected[w] >> l & 1)) continue;
          const std::uint64_t j = 4 * (first_block + g + l) + w;
          const auto bad = std::uint32_t((std::uint64_t(std::uint32_t(raw[l])) * s.word_modulus()) >> 32);
          correction += s.digit_sum(s.packed_value(t, j, std::uint32_t(raw[l])), 0, K) - s.digit_sum(bad, 0, K);
        }
      }
    }
  }
  const std::uint64_t v = std::uint64_t(_mm512_reduce_add_epi64(acc_v));
  const std::uint64_t q = std::uint64_t(_mm512_reduce_add_epi64(acc_q));
  redo_digits += correction;
  return v - std::uint64_t(s.span32() - 1) * q;
}

using PackedBlocks = std::uint64_t (*)(const FastStream&, TaskId, std::uint64_t, std::uint64_t, std::uint64_t&);

template <unsigned... Ks>
PackedBlocks pick(unsigned k, std::integer_sequence<unsigned, Ks...>) {
  PackedBlocks chosen = nullptr;
  ((k == Ks + 1 ? (chosen = &packed_blocks<Ks + 1>, 0) : 0), ...);
  return chosen;
}

}  // namespace

ChunkSum sum_fast_avx512(const FastStream& s, TaskId t, Index a, Index b) {
  const std::uint64_t per_block = 4 * std::uint64_t(s.digits());
  // Whole groups of eight blocks inside [a, b) go to the vector loop; edges to the portable path.
  const std::uint64_t first_block = (a + per_block - 1) / per_block;
  const std::uint64_t end_block = b / per_block;
  if (end_block < first_block + 8) return sum_fast_portable(s, t, a, b);
  const std::uint64_t blocks = (end_block - first_block) / 8 * 8;
  const Index mid_begin = first_block * per_block, mid_end = (first_block + blocks) * per_block;

  std::uint64_t redo = 0;
  const std::uint64_t digits =
      pick(s.digits(), std::make_integer_sequence<unsigned, 20>{})(s, t, first_block, blocks, redo);
  const i128 middle = i128{s.range().lo} * i128(mid_end - mid_begin) + i128(digits + redo);
  const auto head = sum_fast_portable(s, t, a, mid_begin), tail = sum_fast_portable(s, t, mid_end, b);
  return {middle + head.sum + tail.sum, 0};
}

}  // namespace tally::core
