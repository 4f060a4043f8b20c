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

/// The same sums with Philox4x64-10 on scalar 64×64→128-bit multiplies, kInFlight
/// blocks interleaved (independent chains hide the multiply latency). Where 64-bit
/// lanes have no 64-bit multiply (AVX2, SSE4, NEON), four 32×32 products per lane cost
/// more than one scalar `mul` per block word: measured in bench/results/, this is the
/// faster kernel there, and the vector one on AVX-512.
template <Unit U>
TALLY_SCALAR_LOOP HWY_NOINLINE Offsets NumpyBlocksScalar(const NumpyStream& s, TaskId t, std::uint64_t first, std::uint64_t blocks) {
  constexpr unsigned kInFlight = 4;
  std::uint64_t k0[10], k1[10];
  for (unsigned r = 0; r < 10; ++r) {
    k0[r] = s.key()[0] + r * kPhilox64W0;
    k1[r] = s.key()[1] + r * kPhilox64W1;
  }
  const std::uint64_t span = s.span64(), threshold = s.threshold();
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
    for (unsigned i = 0; i < B; ++i) {
      c[i][0] = first + b + i + 1;  // NumPy bumps the counter first
      c[i][1] = 0;
      c[i][2] = t;
      c[i][3] = 0;
    }
    for (unsigned r = 0; r < 10; ++r) {
      for (unsigned i = 0; i < B; ++i) {
        const u128 p0 = u128{kPhilox64M0} * c[i][0], p1 = u128{kPhilox64M1} * c[i][2];
        c[i][0] = std::uint64_t(p1 >> 64) ^ c[i][1] ^ k0[r];
        c[i][1] = std::uint64_t(p1);
        c[i][2] = std::uint64_t(p0 >> 64) ^ c[i][3] ^ k1[r];
        c[i][3] = std::uint64_t(p0);
      }
    }
    for (unsigned i = 0; i < B; ++i) units(c[i]);
  };
  std::uint64_t b = 0;
  for (; b + kInFlight <= blocks; b += kInFlight) run(b, std::integral_constant<unsigned, kInFlight>{});
  for (; b < blocks; ++b) run(b, std::integral_constant<unsigned, 1>{});
  return {sum + sum32, missing};
}

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
