// The numpy stream's vector kernel, written once against Highway and compiled per target
// (foreach_target.h re-includes this file once per target). Philox4x64-10 on one block
// per 64-bit lane, 64×64→128-bit products from four 32×32 ones, then NumPy's rule on
// every raw unit: 32-bit halves (low half first) for spans up to 2^32, whole words
// above. Rejected units are masked in the loop and counted. Sum and rejected count of
// raw units [a, b) equal NumpyStream::sum_scalar's (tests/core/kernel_numpy_test.cpp).
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "core/kernel_numpy_hwy.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include "core/philox_hwy-inl.hpp"

#ifndef TALLY_CORE_KERNEL_NUMPY_HWY_ONCE
#define TALLY_CORE_KERNEL_NUMPY_HWY_ONCE
#include <algorithm>

#include "core/kernel_numpy.hpp"
#include "core/stream_numpy.hpp"

namespace tally::core::hwy_numpy {
/// Blocks per call of the vector loop: a lane adds at most 2^24 · 8 numbers below 2^32,
/// so no lane can overflow however long the range. Pieces add in 128 bits.
inline constexpr std::uint64_t kPiece = std::uint64_t{1} << 24;
// g++ 12 vectorises the scalar Philox4x64 loop for AVX2 with emulated 64-bit multiplies,
// twice as slow as the scalar code (measured: 10.5 against 5.8 ns per unit on SSE4).
#if defined(__GNUC__) && !defined(__clang__)
#define TALLY_SCALAR_LOOP __attribute__((optimize("no-tree-vectorize")))
#else
#define TALLY_SCALAR_LOOP
#endif
/// How a numpy unit becomes an offset: the stream's four drawing modes.
enum class Unit { kLemire32, kRaw32, kLemire64, kRaw64 };
struct Offsets {
  u128 sum = 0;  ///< sum of the accepted units' offsets d
  std::uint64_t missing = 0;
};
}  // namespace tally::core::hwy_numpy
#endif

HWY_BEFORE_NAMESPACE();
namespace tally::core::HWY_NAMESPACE {

#if HWY_TARGET == HWY_SCALAR
// One lane is the portable path: the baseline goes there (GCC 12's EMU128 is broken).
ChunkSum SumNumpy(const NumpyStream& s, TaskId t, Index a, Index b) { return sum_numpy_portable(s, t, a, b); }
#else
using hwy_numpy::Offsets;
using hwy_numpy::Unit;

/// Sums blocks [first, first + blocks) (a multiple of Lanes(d), at most kPiece).
template <Unit U>
HWY_NOINLINE Offsets NumpyBlocks(const NumpyStream& s, TaskId t, std::uint64_t first, std::uint64_t blocks) {
  const D64 d;
  const DI64 di;
  const std::uint64_t n = hn::Lanes(d);
  const Philox64Lanes philox(s.key(), t);
  const V64 zero = hn::Zero(d), one = hn::Set(d, 1), low32 = hn::Set(d, 0xffffffffu);
  const V64 span = hn::Set(d, s.span64()), span_hi = hn::Set(d, s.span64() >> 32);
  const V64 threshold = hn::Set(d, s.threshold());
  const bool can_reject = s.threshold() != 0;
  // Lanes sum numbers below 2^32: 32-bit offsets in acc_lo; raw 64-bit units as halves
  // (acc_lo low, acc_hi high); 64-bit Lemire offsets as three parts (acc_lo, acc_hi, acc_x).
  V64 acc_lo = zero, acc_hi = zero, acc_x = zero, acc_rejected = zero;
  ForGroups<kNumpyStep>(blocks, [&]<int V>(std::uint64_t g, std::integral_constant<int, V>) HWY_ATTR {
    philox.template Blocks<V>(first + g, [&](int, V64 w0, V64 w1, V64 w2, V64 w3) HWY_ATTR __attribute__((always_inline)) {
      auto units = [&](V64 word) HWY_ATTR __attribute__((always_inline)) {
        if constexpr (U == Unit::kRaw32) {
          acc_lo = hn::Add(acc_lo, hn::Add(hn::And(word, low32), hn::ShiftRight<32>(word)));
        } else if constexpr (U == Unit::kRaw64) {
          acc_lo = hn::Add(acc_lo, hn::And(word, low32));
          acc_hi = hn::Add(acc_hi, hn::ShiftRight<32>(word));
        } else if constexpr (U == Unit::kLemire32) {
          for (unsigned half = 0; half < 2; ++half) {  // low half first, as NumPy
            const V64 m = Mul32(half == 0 ? word : hn::ShiftRight<32>(word), span);
            // Both sides are below 2^32: a signed compare is exact.
            const auto rejected = hn::RebindMask(d, hn::Lt(hn::BitCast(di, hn::And(m, low32)), hn::BitCast(di, threshold)));
            acc_lo = hn::Add(acc_lo, hn::IfThenZeroElse(rejected, hn::ShiftRight<32>(m)));
            acc_rejected = hn::Add(acc_rejected, hn::IfThenElseZero(rejected, one));
          }
        } else {
          // d = ⌊x·s / 2^64⌋ = x_hi·s_hi + ⌊t0 / 2^32⌋ + ⌊t1 / 2^32⌋; x_hi·s_hi is summed
          // as s_hi·Σx_hi after the loop, which saves the fourth multiply.
          const V64 x_hi = hn::ShiftRight<32>(word);
          const V64 p00 = Mul32(word, span), p01 = Mul32(word, span_hi), p10 = Mul32(x_hi, span);
          const V64 t0 = hn::Add(p01, hn::ShiftRight<32>(p00));
          const V64 t1 = hn::Add(p10, hn::And(t0, low32));
          V64 part0 = hn::ShiftRight<32>(t0), part1 = hn::ShiftRight<32>(t1), part_x = x_hi;
          if (can_reject) {
            const V64 lo = hn::Or(hn::ShiftLeft<32>(t1), hn::And(p00, low32));  // (x·s) mod 2^64
            const auto rejected = LessU64(lo, threshold);
            part0 = hn::IfThenZeroElse(rejected, part0);
            part1 = hn::IfThenZeroElse(rejected, part1);
            part_x = hn::IfThenZeroElse(rejected, part_x);
            acc_rejected = hn::Add(acc_rejected, hn::IfThenElseZero(rejected, one));
          }
          acc_lo = hn::Add(acc_lo, part0);
          acc_hi = hn::Add(acc_hi, part1);
          acc_x = hn::Add(acc_x, part_x);
        }
      };
      units(w0);
      units(w1);
      units(w2);
      units(w3);
    });
  });
  HWY_ALIGN std::uint64_t lo[HWY_MAX_BYTES / 8], hi[HWY_MAX_BYTES / 8], xs[HWY_MAX_BYTES / 8];
  hn::Store(acc_lo, d, lo);
  hn::Store(acc_hi, d, hi);
  hn::Store(acc_x, d, xs);
  Offsets out;
  for (std::uint64_t l = 0; l < n; ++l) {
    if constexpr (U == Unit::kRaw64) out.sum += u128{lo[l]} + (u128{hi[l]} << 32);
    else if constexpr (U == Unit::kLemire64) out.sum += u128{lo[l]} + hi[l] + u128{xs[l]} * (s.span64() >> 32);
    else out.sum += lo[l];
  }
  out.missing = hn::GetLane(hn::SumOfLanes(d, acc_rejected));
  return out;
}

/// Rounds 0 and 1 of NumPy's Philox4x64-10 for one task: the counter's words 1..3 are
/// (0, t, 0), so of the four products in those rounds only two depend on the block.
struct NumpyFirstRounds {
  std::uint64_t k1_0, c1_xor, c2_xor, c3;
  NumpyFirstRounds(const Philox4x64Key& key, TaskId t) : k1_0(key[1]) {
    const u128 p1 = u128{kPhilox64M1} * std::uint64_t(t);  // round 0, word 2 = t
    const std::uint64_t a = std::uint64_t(p1 >> 64) ^ key[0];  // round 0's word 0
    const u128 p0 = u128{kPhilox64M0} * a;                    // round 1's product of word 0
    c1_xor = std::uint64_t(p1) ^ (key[0] + kPhilox64W0);
    c2_xor = std::uint64_t(p0 >> 64) ^ (key[1] + kPhilox64W1);
    c3 = std::uint64_t(p0);
  }
  /// The words after round 1 of block b (NumPy bumps the counter first: b + 1).
  HWY_INLINE void operator()(std::uint64_t b, std::uint64_t (&c)[4]) const {
    const u128 p0 = u128{kPhilox64M0} * (b + 1);
    const u128 p1 = u128{kPhilox64M1} * (std::uint64_t(p0 >> 64) ^ k1_0);
    c[0] = std::uint64_t(p1 >> 64) ^ c1_xor;
    c[1] = std::uint64_t(p1);
    c[2] = std::uint64_t(p0) ^ c2_xor;
    c[3] = c3;
  }
};

/// Adds NumPy's 32-bit Lemire rule on a vector of words to the lane sums: low half
/// first, rejected units masked and counted (acc_rejected - (-1) per unit).
template <class D>
HWY_INLINE void Lemire32Vector(D d, hn::Vec<D> word, hn::Vec<D> span, hn::Vec<D> threshold, hn::Vec<D>& acc,
                               hn::Vec<D>& acc_rejected) {
  const hn::RebindToSigned<D> di;
  const hn::Repartition<std::uint32_t, D> d32;
  const auto low32 = hn::Set(d, 0xffffffffu);
  for (unsigned half = 0; half < 2; ++half) {
    const auto x = half == 0 ? word : hn::ShiftRight<32>(word);
    const auto m = hn::MulEven(hn::BitCast(d32, x), hn::BitCast(d32, span));
    // Both sides are below 2^32: a signed compare is exact.
    const auto rejected = hn::RebindMask(d, hn::Lt(hn::BitCast(di, hn::And(m, low32)), hn::BitCast(di, threshold)));
    acc = hn::Add(acc, hn::IfThenZeroElse(rejected, hn::ShiftRight<32>(m)));
    acc_rejected = hn::Sub(acc_rejected, hn::VecFromMask(d, rejected));
  }
}

#undef TALLY_NUMPY_MULX  // set per target: this file is compiled once per target
// g++ only (what it was measured for: clang's assembler rejects the operand form below
// when the keys' address sits in a register), optimised builds without ASan (the keys
// are then addressed off the stack pointer; -O0 and ASan builds run the C++ rounds, and
// GNU as would warn about the form), and only where Highway's AVX2 target implies BMI2.
#if HWY_TARGET == HWY_AVX2 && defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    defined(__OPTIMIZE__) && !defined(__SANITIZE_ADDRESS__) && !defined(HWY_DISABLE_BMI2_FMA)
#define TALLY_NUMPY_MULX 1
#endif
#ifdef TALLY_NUMPY_MULX
/// Rounds 2..9 of Philox4x64-10 on three blocks c[i] with mulx (AVX2 implies BMI2), the
/// keys of those rounds in keys[0..7] (word 0) and keys[8..15] (word 1), M0 and M1 in
/// keys[16..17] (one base register for every memory operand, also in PIC builds). Written out
/// because g++ 12 spills the 128-bit products of more than one block in flight to the
/// stack (twice the instructions). A half round of one block: rdx = M (a load, no ALU
/// port), X·M → rdx (low half), X (high half); X ^= Y ^ key; Y = low half. Words 0 and 2
/// swap registers every round, so after eight rounds every word is back in its own:
/// twelve registers and rdx, which leaves one for addressing whatever the build
/// (frame pointer, sanitizers). Bit-exact with philox4x64_10 (tests/core/kernel_numpy_test.cpp).
#define TALLY_MULX_HALF(M, X, Y, K)                                                                \
  "movq " #M "+%[k], %%rdx\n\tmulxq %" #X ", %%rdx, %" #X "\n\txorq %" #Y ", %" #X "\n\txorq " #K \
  "+%[k], %" #X "\n\tmovq %%rdx, %" #Y "\n\t"
#define TALLY_MULX_ROUND(K0, K1, A0, B0, C0, D0, A1, B1, C1, D1, A2, B2, C2, D2)                         \
  TALLY_MULX_HALF(128, A0, D0, K1) TALLY_MULX_HALF(128, A1, D1, K1) TALLY_MULX_HALF(128, A2, D2, K1) \
  TALLY_MULX_HALF(136, C0, B0, K0) TALLY_MULX_HALF(136, C1, B1, K0) TALLY_MULX_HALF(136, C2, B2, K0)
#define TALLY_MULX_EVEN(K0, K1) TALLY_MULX_ROUND(K0, K1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)
#define TALLY_MULX_ODD(K0, K1) TALLY_MULX_ROUND(K0, K1, 2, 1, 0, 3, 6, 5, 4, 7, 10, 9, 8, 11)
/// PhiloxRoundsMulx's memory operands: rounds 2..9's keys of word 0, of word 1, then M0, M1.
struct MulxKeys {
  std::uint64_t k[18];
  explicit MulxKeys(const Philox4x64Key& key) {
    for (unsigned r = 2; r < 10; ++r) {
      k[r - 2] = key[0] + r * kPhilox64W0;
      k[r + 6] = key[1] + r * kPhilox64W1;
    }
    k[16] = kPhilox64M0;
    k[17] = kPhilox64M1;
  }
};
HWY_INLINE void PhiloxRoundsMulx(std::uint64_t (&c)[3][4], const MulxKeys& keys) {
  asm(TALLY_MULX_EVEN(0, 64) TALLY_MULX_ODD(8, 72) TALLY_MULX_EVEN(16, 80) TALLY_MULX_ODD(24, 88)
          TALLY_MULX_EVEN(32, 96) TALLY_MULX_ODD(40, 104) TALLY_MULX_EVEN(48, 112) TALLY_MULX_ODD(56, 120)
      : "+r"(c[0][0]), "+r"(c[0][1]), "+r"(c[0][2]), "+r"(c[0][3]), "+r"(c[1][0]), "+r"(c[1][1]), "+r"(c[1][2]),
        "+r"(c[1][3]), "+r"(c[2][0]), "+r"(c[2][1]), "+r"(c[2][2]), "+r"(c[2][3])
      : [k] "m"(keys.k)
      : "rdx", "cc");
}
#undef TALLY_MULX_ODD
#undef TALLY_MULX_EVEN
#undef TALLY_MULX_ROUND
#undef TALLY_MULX_HALF
#endif

#ifdef TALLY_NUMPY_MULX
inline constexpr unsigned kScalarInFlight = 3;  // what PhiloxRoundsMulx takes
#else
inline constexpr unsigned kScalarInFlight = 4;
#endif

/// The same sums with Philox4x64-10 on scalar 64×64→128-bit multiplies, kInFlight
/// blocks interleaved (independent chains hide the multiply latency), 18 products per
/// block (NumpyFirstRounds); on AVX2 rounds 2..9 are PhiloxRoundsMulx. Where 64-bit
/// lanes have no 64-bit multiply (AVX2, SSE4, NEON), four 32×32 products per lane cost
/// more than one scalar multiply per block word: measured in bench/results/, this is the
/// faster kernel there, and the vector one on AVX-512.
template <Unit U>
TALLY_SCALAR_LOOP HWY_NOINLINE Offsets NumpyBlocksScalar(const NumpyStream& s, TaskId t, std::uint64_t first, std::uint64_t blocks) {
  constexpr unsigned kInFlight = kScalarInFlight;
  std::uint64_t k0[10], k1[10];
  for (unsigned r = 0; r < 10; ++r) {
    k0[r] = s.key()[0] + r * kPhilox64W0;
    k1[r] = s.key()[1] + r * kPhilox64W1;
  }
  const NumpyFirstRounds head(s.key(), t);
#ifdef TALLY_NUMPY_MULX
  const MulxKeys late_keys(s.key());
#endif
  const std::uint64_t span = s.span64(), threshold = s.threshold();
  const hn::CappedTag<std::uint64_t, 4> dl;  // kInFlight·4 words are a whole number of vectors
  const auto v_span = hn::Set(dl, span), v_threshold = hn::Set(dl, threshold);
  auto acc = hn::Zero(dl), acc_rejected = hn::Zero(dl);
  u128 sum = 0;
  std::uint64_t sum32 = 0, missing = 0;  // sum32: 32-bit offsets, at most 2^27 of them per piece
  auto units = [&](const std::uint64_t (&w)[4]) __attribute__((always_inline)) {
    for (unsigned i = 0; i < 4; ++i) {
      if constexpr (U == Unit::kRaw32) {
        sum32 += (w[i] & 0xffffffffu) + (w[i] >> 32);
      } else if constexpr (U == Unit::kRaw64) {
        sum += w[i];
      } else if constexpr (U == Unit::kLemire32) {
        for (const std::uint64_t x : {w[i] & 0xffffffffu, w[i] >> 32}) {  // low half first, as NumPy
          const std::uint64_t m = x * span;
          const bool accepted = std::uint32_t(m) >= threshold;
          sum32 += accepted ? m >> 32 : 0;
          missing += accepted ? 0 : 1;
        }
      } else {
        const u128 m = u128{w[i]} * span;
        const bool accepted = std::uint64_t(m) >= threshold;
        sum += accepted ? std::uint64_t(m >> 64) : 0;
        missing += accepted ? 0 : 1;
      }
    }
  };
  auto run = [&]<unsigned B>(std::uint64_t b, std::integral_constant<unsigned, B>) __attribute__((always_inline)) {
    std::uint64_t c[B][4];
    for (unsigned i = 0; i < B; ++i) head(first + b + i, c[i]);  // rounds 0 and 1: two products
#ifdef TALLY_NUMPY_MULX
    if constexpr (B == 3) {
      PhiloxRoundsMulx(c, late_keys);
    } else
#endif
#pragma GCC unroll 8
    for (unsigned r = 2; r < 10; ++r) {
      for (unsigned i = 0; i < B; ++i) {
        const u128 p0 = u128{kPhilox64M0} * c[i][0], p1 = u128{kPhilox64M1} * c[i][2];
        c[i][0] = std::uint64_t(p1 >> 64) ^ c[i][1] ^ k0[r];
        c[i][1] = std::uint64_t(p1);
        c[i][2] = std::uint64_t(p0 >> 64) ^ c[i][3] ^ k1[r];
        c[i][3] = std::uint64_t(p0);
      }
    }
    // On x86 the scalar multiplier is the bottleneck: 32-bit Lemire goes to the vectors
    // (SSE4 too: 0.85x its time, bench/results/numpy-avx2-20261206-0439.txt). Not measured on Arm: its
    // paths keep the scalar rule.
    if constexpr (U == Unit::kLemire32 && B == kInFlight && HWY_ARCH_X86) {
#ifdef TALLY_NUMPY_MULX
      // From registers: a vector load of four scalar stores waits for them to retire.
      for (unsigned i = 0; i < B; ++i) {
        const hn::Vec<decltype(dl)> word{_mm256_set_epi64x(std::int64_t(c[i][3]), std::int64_t(c[i][2]),
                                                           std::int64_t(c[i][1]), std::int64_t(c[i][0]))};
        Lemire32Vector(dl, word, v_span, v_threshold, acc, acc_rejected);
      }
#else
      alignas(32) std::uint64_t w[B * 4];
      for (unsigned i = 0; i < B; ++i) {
        for (unsigned j = 0; j < 4; ++j) w[i * 4 + j] = c[i][j];
      }
      for (unsigned j = 0; j < B * 4; j += hn::Lanes(dl)) {
        Lemire32Vector(dl, hn::Load(dl, w + j), v_span, v_threshold, acc, acc_rejected);
      }
#endif
    } else {
      for (unsigned i = 0; i < B; ++i) units(c[i]);
    }
  };
  std::uint64_t b = 0;
  for (; b + kInFlight <= blocks; b += kInFlight) run(b, std::integral_constant<unsigned, kInFlight>{});
  for (; b < blocks; ++b) run(b, std::integral_constant<unsigned, 1>{});
  if constexpr (U == Unit::kLemire32) {
    // Lanes add at most 2^27 offsets below 2^32 each.
    sum32 += hn::GetLane(hn::SumOfLanes(dl, acc));
    missing += hn::GetLane(hn::SumOfLanes(dl, acc_rejected));
  }
  return {sum + sum32, missing};
}

#ifdef TALLY_NUMPY_MULX
inline constexpr std::uint64_t kSmallSpan = std::uint64_t{1} << 24;  // NumpyLemire32Small's spans

/// Spans up to 2^24 take this kernel on AVX2: the mulx Philox of NumpyBlocksScalar keeps
/// the ports that run vector shuffles and multiplies busy (p1 and p5 on Intel), so the
/// Lemire step costs what its vector instructions cost. Per four words: two vpmuludq for
/// the halves, one shuffle gathers the eight offsets into 32-bit lanes (widened to 64
/// bits before they can overflow), one gathers the eight low products for a running
/// minimum; a group of three blocks in which some low product is below the threshold
/// (probability below 2^-8 per unit) is corrected unit by unit.
HWY_NOINLINE Offsets NumpyLemire32Small(const NumpyStream& s, TaskId t, std::uint64_t first, std::uint64_t blocks) {
  // A 32-bit lane adds three offsets below span per group: widen before it can overflow.
  const std::uint64_t flush_groups = 0xffffffffu / (3 * (s.span64() - 1));
  const MulxKeys late_keys(s.key());
  const NumpyFirstRounds head(s.key(), t);
  const std::uint64_t span = s.span64(), threshold = s.threshold();
  const __m256i v_span = _mm256_set1_epi64x(std::int64_t(span));
  const __m256i v_threshold = _mm256_set1_epi32(std::int32_t(threshold)), ones = _mm256_set1_epi32(-1);
  __m256i sum32 = _mm256_setzero_si256(), sum64 = _mm256_setzero_si256();
  const __m256i low32 = _mm256_set1_epi64x(0xffffffff);
  std::uint64_t correction = 0, missing = 0;  // correction: minus the rejected offsets (mod 2^64)
  std::uint64_t b = 0, groups = 0;
  for (; b + 3 <= blocks; b += 3) {
    std::uint64_t c[3][4];
    for (unsigned i = 0; i < 3; ++i) head(first + b + i, c[i]);
    PhiloxRoundsMulx(c, late_keys);
    __m256i low_min = ones;
    for (unsigned i = 0; i < 3; ++i) {
      const __m256i words = _mm256_set_epi64x(std::int64_t(c[i][3]), std::int64_t(c[i][2]), std::int64_t(c[i][1]),
                                              std::int64_t(c[i][0]));
      const __m256i m_lo = _mm256_mul_epu32(words, v_span);
      const __m256i m_hi = _mm256_mul_epu32(_mm256_srli_epi64(words, 32), v_span);
      const __m256 lo = _mm256_castsi256_ps(m_lo), hi = _mm256_castsi256_ps(m_hi);
      sum32 = _mm256_add_epi32(sum32, _mm256_castps_si256(_mm256_shuffle_ps(lo, hi, 0xDD)));  // odd halves: offsets
      low_min = _mm256_min_epu32(low_min, _mm256_castps_si256(_mm256_shuffle_ps(lo, hi, 0x88)));
    }
    if (!_mm256_testc_si256(_mm256_cmpeq_epi32(_mm256_max_epu32(low_min, v_threshold), low_min), ones)) {
      for (unsigned i = 0; i < 3; ++i) {
        for (const std::uint64_t w : c[i]) {
          for (const std::uint64_t x : {w & 0xffffffffu, w >> 32}) {
            const std::uint64_t m = x * span;
            if (std::uint32_t(m) < threshold) {
              correction -= m >> 32;
              ++missing;
            }
          }
        }
      }
    }
    if (++groups == flush_groups) {
      sum64 = _mm256_add_epi64(sum64, _mm256_add_epi64(_mm256_and_si256(sum32, low32), _mm256_srli_epi64(sum32, 32)));
      sum32 = _mm256_setzero_si256();
      groups = 0;
    }
  }
  sum64 = _mm256_add_epi64(sum64, _mm256_add_epi64(_mm256_and_si256(sum32, low32), _mm256_srli_epi64(sum32, 32)));
  alignas(32) std::uint64_t lanes[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), sum64);
  Offsets out = NumpyBlocksScalar<Unit::kLemire32>(s, t, first + b, blocks - b);  // the last blocks
  out.sum += std::uint64_t(lanes[0] + lanes[1] + lanes[2] + lanes[3] + correction);
  out.missing += missing;
  return out;
}
#endif

ChunkSum SumNumpy(const NumpyStream& s, TaskId t, Index a, Index b) {
  const D64 d;
  Offsets (*kernel)(const NumpyStream&, TaskId, std::uint64_t, std::uint64_t) = nullptr;
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
  constexpr bool kVector = true;  // 64-bit lanes multiply in one instruction (vpmullq)
#else
  constexpr bool kVector = false;
#endif
  switch (s.mode()) {
    case NumpyStream::Mode::kRaw32: kernel = kVector ? &NumpyBlocks<Unit::kRaw32> : &NumpyBlocksScalar<Unit::kRaw32>; break;
    case NumpyStream::Mode::kRaw64: kernel = kVector ? &NumpyBlocks<Unit::kRaw64> : &NumpyBlocksScalar<Unit::kRaw64>; break;
    case NumpyStream::Mode::kLemire32:
      kernel = kVector ? &NumpyBlocks<Unit::kLemire32> : &NumpyBlocksScalar<Unit::kLemire32>;
#ifdef TALLY_NUMPY_MULX
      if (s.span64() <= kSmallSpan) kernel = &NumpyLemire32Small;
#endif
      break;
    case NumpyStream::Mode::kLemire64:
      kernel = kVector ? &NumpyBlocks<Unit::kLemire64> : &NumpyBlocksScalar<Unit::kLemire64>;
      break;
    case NumpyStream::Mode::kConstant: break;
  }
  const std::uint64_t n = hn::Lanes(d), per_block = s.units_per_block();
  const std::uint64_t first_block = (a + per_block - 1) / per_block, end_block = b / per_block;
  if (kernel == nullptr || end_block < first_block + n) return sum_numpy_portable(s, t, a, b);
  const std::uint64_t blocks = (end_block - first_block) / n * n;
  const Index mid_begin = first_block * per_block, mid_end = (first_block + blocks) * per_block;
  Offsets middle;
  for (std::uint64_t p = 0; p < blocks; p += std::min(hwy_numpy::kPiece, blocks - p)) {
    const Offsets part = kernel(s, t, first_block + p, std::min(hwy_numpy::kPiece, blocks - p));
    middle.sum += part.sum;
    middle.missing += part.missing;
  }
  const i128 mid_sum = i128{s.range().lo} * i128(mid_end - mid_begin - middle.missing) + i128(middle.sum);
  const ChunkSum head = sum_numpy_portable(s, t, a, mid_begin), tail = sum_numpy_portable(s, t, mid_end, b);
  return {mid_sum + head.sum + tail.sum, middle.missing + head.missing + tail.missing};
}
#endif  // HWY_TARGET != HWY_SCALAR

}  // namespace tally::core::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace tally::core {
HWY_EXPORT(SumNumpy);

ChunkSum sum_numpy_hwy(const NumpyStream& s, TaskId t, Index a, Index b) {
  return HWY_DYNAMIC_DISPATCH(SumNumpy)(s, t, a, b);
}

}  // namespace tally::core
#endif
