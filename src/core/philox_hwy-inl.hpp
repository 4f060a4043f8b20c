// Philox4x32-10 and Philox4x64-10 on whole vectors of blocks, written once against
// Google Highway and compiled for every target foreach_target.h asks for (SSE4, AVX2,
// AVX-512, NEON, SVE, …). One block per 64-bit lane; 32×32→64-bit products through
// MulEven only (Highway 1.0.3 has no other portable widening multiply). Bit-exact with
// philox4x32_10 / philox4x64_10 in philox.hpp, the readable definitions.
//
// Included by the *_hwy.cpp kernels once per target: the guard toggles per target, as
// Highway's -inl headers do.
#if defined(TALLY_CORE_PHILOX_HWY_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef TALLY_CORE_PHILOX_HWY_INL_H_
#undef TALLY_CORE_PHILOX_HWY_INL_H_
#else
#define TALLY_CORE_PHILOX_HWY_INL_H_
#endif

#include <hwy/highway.h>

#include <cstddef>
#include <cstdint>

#include "core/philox.hpp"
#include "core/types.hpp"

HWY_BEFORE_NAMESPACE();
namespace tally::core::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;
// The scalar baseline (one lane; GCC 12's EMU128 is broken) runs the portable path:
// nothing here is compiled for it.
#if HWY_TARGET != HWY_SCALAR

using D64 = hn::ScalableTag<std::uint64_t>;
using V64 = hn::Vec<D64>;
using DI64 = hn::RebindToSigned<D64>;
using D32 = hn::Repartition<std::uint32_t, D64>;

/// Groups of Lanes(d) blocks interleaved per step: the ten dependent rounds are one long
/// chain, and independent groups hide the multiply latency. Wider register files take
/// more groups (AVX-512 and SVE have 32 registers, AVX2 and SSE4 16).
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
inline constexpr int kFastStep = 6;
inline constexpr int kNumpyStep = 4;
#elif HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_SSE4 || HWY_TARGET == HWY_SSSE3
inline constexpr int kFastStep = 3;
inline constexpr int kNumpyStep = 2;
#elif HWY_TARGET == HWY_SCALAR
inline constexpr int kFastStep = 1;
inline constexpr int kNumpyStep = 1;
#else
inline constexpr int kFastStep = 4;
inline constexpr int kNumpyStep = 2;
#endif

/// low32(a) · low32(b) as a 64-bit product in every lane (vpmuludq, umull, …).
HWY_INLINE V64 Mul32(V64 a, V64 b) {
  const D32 d32;
  return hn::MulEven(hn::BitCast(d32, a), hn::BitCast(d32, b));
}

/// Unsigned 64-bit a < b in every lane (signed compare after flipping the top bits:
/// every target has that one).
HWY_INLINE hn::Mask<D64> LessU64(V64 a, V64 b) {
  const D64 d;
  const DI64 di;
  const V64 top = hn::Set(d, std::uint64_t{1} << 63);
  return hn::RebindMask(d, hn::Lt(hn::BitCast(di, hn::Xor(a, top)), hn::BitCast(di, hn::Xor(b, top))));
}

/// Philox4x32-10 on V × Lanes(d) blocks: the four output words each in the low half of a
/// 64-bit lane (high halves hold garbage; read them through Mul32 or mask them).
struct Philox32Lanes {
  V64 k0[10], k1[10], retry_k1[10], m0, m1, task_lo, task_hi;
  Philox32Lanes(const Philox4x32Key& key, TaskId t) {
    const D64 d;
    for (unsigned r = 0; r < 10; ++r) {
      k0[r] = hn::Set(d, std::uint32_t(key[0] + r * kPhilox32W0));
      k1[r] = hn::Set(d, std::uint32_t(key[1] + r * kPhilox32W1));
      retry_k1[r] = hn::Set(d, std::uint32_t(~key[1] + r * kPhilox32W1));
    }
    m0 = hn::Set(d, kPhilox32M0);
    m1 = hn::Set(d, kPhilox32M1);
    task_lo = hn::Set(d, std::uint32_t(t));
    task_hi = hn::Set(d, std::uint32_t(t >> 32));
  }
  /// Rounds on counters already in c (key0 + extra[v] in the first key word: retries).
  template <int V, bool kRetry>
  HWY_INLINE void rounds(V64 (&c)[V][4], const V64* extra) const {
    for (unsigned r = 0; r < 10; ++r) {
      for (int v = 0; v < V; ++v) {
        const V64 p0 = Mul32(c[v][0], m0), p1 = Mul32(c[v][2], m1);
        // k0 + attempt may carry past bit 31: only the low halves of the lanes are read.
        const V64 key0 = kRetry ? hn::Add(k0[r], extra[v]) : k0[r];
        c[v][0] = hn::Xor3(hn::ShiftRight<32>(p1), c[v][1], key0);
        c[v][2] = hn::Xor3(hn::ShiftRight<32>(p0), c[v][3], kRetry ? retry_k1[r] : k1[r]);
        c[v][1] = p1;
        c[v][3] = p0;
      }
    }
  }
  /// Blocks first + N·v + l (v < V, lane l < N = Lanes(d)) into c[v][word] lane l.
  template <int V>
  HWY_INLINE void operator()(std::uint64_t first, V64 (&c)[V][4]) const {
    const D64 d;
    const size_t n = hn::Lanes(d);
    for (int v = 0; v < V; ++v) {
      c[v][0] = hn::Iota(d, first + n * std::uint64_t(v));
      c[v][1] = hn::ShiftRight<32>(c[v][0]);
      c[v][2] = task_lo;
      c[v][3] = task_hi;
    }
    rounds<V, false>(c, nullptr);
  }
  /// FastStream::retry_block for (unit j, attempt a) in every lane.
  template <int V>
  HWY_INLINE void retry(const V64 (&j)[V], const V64 (&a)[V], V64 (&c)[V][4]) const {
    for (int v = 0; v < V; ++v) {
      c[v][0] = j[v];
      c[v][1] = hn::ShiftRight<32>(j[v]);
      c[v][2] = task_lo;
      c[v][3] = task_hi;
    }
    rounds<V, true>(c, a);
  }
};

struct Product {
  V64 hi, lo;
};

/// a · m as a 128-bit product per lane from four 32×32 products, added in an order that
/// cannot overflow 64 bits: (2^32−1)² + 2(2^32−1) < 2^64.
HWY_INLINE Product MulWide(V64 a, V64 m_lo, V64 m_hi, V64 low32) {
  const V64 a_hi = hn::ShiftRight<32>(a);
  const V64 p00 = Mul32(a, m_lo), p01 = Mul32(a, m_hi), p10 = Mul32(a_hi, m_lo), p11 = Mul32(a_hi, m_hi);
  const V64 t0 = hn::Add(p01, hn::ShiftRight<32>(p00));
  const V64 t1 = hn::Add(p10, hn::And(t0, low32));
  const V64 hi = hn::Add(hn::Add(p11, hn::ShiftRight<32>(t0)), hn::ShiftRight<32>(t1));
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
  (void)low32;
  return {hi, hn::Mul(a, hn::Or(hn::ShiftLeft<32>(m_hi), m_lo))};  // one vpmullq: as fast as the parts
#else
  const V64 lo = hn::Or(hn::ShiftLeft<32>(t1), hn::And(p00, low32));
  return {hi, lo};
#endif
}

/// Philox4x64-10 of NumPy's counters (b + 1, 0, t, 0) for V × Lanes(d) blocks b.
struct Philox64Lanes {
  V64 k0[10], k1[10], low32, m0_lo, m0_hi, m1_lo, m1_hi, task;
  Philox64Lanes(const Philox4x64Key& key, TaskId t) {
    const D64 d;
    for (unsigned r = 0; r < 10; ++r) {
      k0[r] = hn::Set(d, key[0] + r * kPhilox64W0);
      k1[r] = hn::Set(d, key[1] + r * kPhilox64W1);
    }
    low32 = hn::Set(d, 0xffffffffu);
    m0_lo = hn::Set(d, kPhilox64M0 & 0xffffffffu);
    m0_hi = hn::Set(d, kPhilox64M0 >> 32);
    m1_lo = hn::Set(d, kPhilox64M1 & 0xffffffffu);
    m1_hi = hn::Set(d, kPhilox64M1 >> 32);
    task = hn::Set(d, std::uint64_t(t));
  }
  /// Blocks first + N·v + l into c[v][word] lane l (NumPy bumps the counter first).
  template <int V>
  HWY_INLINE void operator()(std::uint64_t first, V64 (&c)[V][4]) const {
    const D64 d;
    const size_t n = hn::Lanes(d);
    for (int v = 0; v < V; ++v) {
      c[v][0] = hn::Iota(d, first + 1 + n * std::uint64_t(v));
      c[v][1] = hn::Zero(d);
      c[v][2] = task;
      c[v][3] = hn::Zero(d);
    }
    for (unsigned r = 0; r < 10; ++r) {
      for (int v = 0; v < V; ++v) {
        const Product p0 = MulWide(c[v][0], m0_lo, m0_hi, low32);
        const Product p1 = MulWide(c[v][2], m1_lo, m1_hi, low32);
        c[v][0] = hn::Xor3(p1.hi, c[v][1], k0[r]);
        c[v][2] = hn::Xor3(p0.hi, c[v][3], k1[r]);
        c[v][1] = p1.lo;
        c[v][3] = p0.lo;
      }
    }
  }
};

/// Runs body(g, integral_constant<V>) over groups of Lanes(d) blocks in [0, blocks)
/// (blocks a multiple of Lanes(d)), kStep groups at a time while they last.
template <int kStep, typename Body>
HWY_INLINE void ForGroups(std::uint64_t blocks, Body&& body) {
  const D64 d;
  const std::uint64_t n = hn::Lanes(d);
  std::uint64_t g = 0;
  for (; g + n * kStep <= blocks; g += n * kStep) body(g, std::integral_constant<int, kStep>{});
  for (; g < blocks; g += n) body(g, std::integral_constant<int, 1>{});
}

#endif  // HWY_TARGET != HWY_SCALAR
}  // namespace tally::core::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // TALLY_CORE_PHILOX_HWY_INL_H_
