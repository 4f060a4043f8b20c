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
/// Groups per step of the packed kernels (Philox32Lanes::FoldedBlocks): on AVX2 and
/// SSE4, 5 measured fastest of 2 … 8 (more groups than registers, but the spilled
/// words wait in the cache while the multiplies of the others run).
#if HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_SSE4 || HWY_TARGET == HWY_SSSE3
inline constexpr int kPackedStep = 5;
#else
inline constexpr int kPackedStep = kFastStep;
#endif

/// low32(a) · low32(b) as a 64-bit product in every lane (vpmuludq, umull, …).
HWY_INLINE V64 Mul32(V64 a, V64 b) {
  const D32 d32;
  return hn::MulEven(hn::BitCast(d32, a), hn::BitCast(d32, b));
}

/// Sum of the lanes modulo 2^64, added as unsigned words: Highway 1.0.3's SumOfLanes ends
/// in GCC's signed 64-bit reduction on AVX-512, undefined when the sum wraps (wide mode's
/// sums of x do).
HWY_INLINE std::uint64_t SumOfLanesMod64(V64 v) {
  const D64 d;
  HWY_ALIGN std::uint64_t lanes[HWY_MAX_BYTES / 8];
  hn::Store(v, d, lanes);
  std::uint64_t sum = 0;
  for (std::size_t l = 0; l < hn::Lanes(d); ++l) sum += lanes[l];
  return sum;
}

/// Unsigned 64-bit a < b in every lane (signed compare after flipping the top bits:
/// every target has that one).
HWY_INLINE hn::Mask<D64> LessU64(V64 a, V64 b) {
  const D64 d;
  const DI64 di;
  const V64 top = hn::Set(d, std::uint64_t{1} << 63);
  return hn::RebindMask(d, hn::Lt(hn::BitCast(di, hn::Xor(a, top)), hn::BitCast(di, hn::Xor(b, top))));
}

/// Lanes a key table row holds: the widest vector this target may run (SVE: 2048 bits).
inline constexpr std::size_t kMaxLanes64 = HWY_MAX_BYTES / 8;

/// Calls body(c...) with 4·V vectors, group u's four counter words at c[4u … 4u + 3],
/// each first set by init(u, c0, c1, c2, c3). They are separate locals, not an array:
/// SVE's vectors are sizeless and cannot live in arrays or structs (the compiler keeps
/// them in registers either way).
template <int V, class Init, class Body, class... C>
HWY_INLINE void WithGroups(Init& init, Body& body, C&... c) {
  if constexpr (sizeof...(C) == 4 * V) {
    body(c...);
  } else {
    V64 c0, c1, c2, c3;
    init(int(sizeof...(C) / 4), c0, c1, c2, c3);
    WithGroups<V>(init, body, c..., c0, c1, c2, c3);
  }
}

/// Calls f(u, c0, c1, c2, c3) on every group u of the counter words c (four per group).
template <class F, class... C>
HWY_INLINE void EachGroup(F& f, int u, V64& c0, V64& c1, V64& c2, V64& c3, C&... rest) {
  f(u, c0, c1, c2, c3);
  if constexpr (sizeof...(C) != 0) EachGroup(f, u + 1, rest...);
}

/// One Philox4x32 round on one group's counter words (key words broadcast).
HWY_INLINE void Philox32Round(V64 m0, V64 m1, V64 key0, V64 key1, V64& c0, V64& c1, V64& c2, V64& c3) {
  const V64 p0 = Mul32(c0, m0), p1 = Mul32(c2, m1);
  c0 = hn::Xor3(hn::ShiftRight<32>(p1), c1, key0);
  c2 = hn::Xor3(hn::ShiftRight<32>(p0), c3, key1);
  c1 = p1;
  c3 = p0;
}

/// Philox4x32-10 on V × Lanes(d) blocks: the four output words each in the low half of a
/// 64-bit lane (high halves hold garbage; read them through Mul32 or mask them).
class Philox32Lanes {
 public:
  Philox32Lanes(const Philox4x32Key& key, TaskId t) : task_lo_(std::uint32_t(t)), task_hi_(std::uint32_t(t >> 32)) {
    const D64 d;
    for (unsigned r = 0; r < 10; ++r) {
      hn::Store(hn::Set(d, std::uint32_t(key[0] + r * kPhilox32W0)), d, k0_[r]);
      hn::Store(hn::Set(d, std::uint32_t(key[1] + r * kPhilox32W1)), d, k1_[r]);
      hn::Store(hn::Set(d, std::uint32_t(~key[1] + r * kPhilox32W1)), d, retry_k1_[r]);
    }
    // Round 0's product task_lo·M1 is the same for every block (see FoldedBlocks).
    const std::uint64_t q = std::uint64_t{task_lo_} * kPhilox32M1;
    q_hi_ = std::uint32_t(q >> 32);
    hn::Store(hn::Set(d, task_hi_ ^ key[1]), d, key1_0_);
    hn::Store(hn::Set(d, std::uint32_t(q) ^ std::uint32_t(key[0] + kPhilox32W0)), d, key0_1_);
  }
  /// Blocks first + N·u + l (group u < V, lane l < N = Lanes(d)): calls
  /// each(u, w0, w1, w2, w3) with every group's four words, after all V are done (the
  /// groups' ten dependent rounds interleave, hiding the multiply latency).
  template <int V, class Each>
  HWY_INLINE void Blocks(std::uint64_t first, Each&& each) const {
    const D64 d;
    const std::uint64_t n = hn::Lanes(d);
    auto init = [&](int u, V64& c0, V64& c1, V64& c2, V64& c3) HWY_ATTR __attribute__((always_inline)) {
      c0 = hn::Iota(d, first + n * std::uint64_t(u));
      c1 = hn::ShiftRight<32>(c0);
      c2 = hn::Set(d, task_lo_);
      c3 = hn::Set(d, task_hi_);
    };
    auto run = [&](auto&... c) HWY_ATTR __attribute__((always_inline)) {
      Rounds(0, c...);
      EachGroup(each, 0, c...);
    };
    WithGroups<V>(init, run);
  }

  /// Blocks with fewer operations. Only the counter's low word differs between the
  /// blocks of a step (its high word changes once in 2^32 blocks), so rounds 0 and 1
  /// are mostly constant: round 0's product c2·M1 and new c0, c1 and round 1's product
  /// c0·M0 and new c3 are the same for every block. They are folded into four key-like
  /// constants, which leaves 3, 4 and 7 vector operations in rounds 0, 1 and 2 instead
  /// of 8 (70 per group instead of 80). A step whose blocks straddle a high word runs
  /// all ten rounds in full.
  /// Measured faster in the packed kernels and slower in the histograms, which keep
  /// Blocks (bench/results/avx2-packed-20261206.txt).
  template <int V, class Each>
  HWY_INLINE void FoldedBlocks(std::uint64_t first, Each&& each) const {
    const std::uint64_t n = hn::Lanes(D64());
    if ((first >> 32) != ((first + n * V - 1) >> 32)) [[unlikely]] {
      Blocks<V>(first, each);
      return;
    }
    const D64 d;
    // Round 0: c0 = hi(task_lo·M1) ^ high word ^ k0, the same in every lane; round 1
    // multiplies it by M0 into P, whose halves enter c2 (round 1) and c3 ^ k1 (round 2).
    const auto c0_after_0 = std::uint32_t(q_hi_ ^ std::uint32_t(first >> 32) ^ std::uint32_t(k0_[0][0]));
    const std::uint64_t p = std::uint64_t{c0_after_0} * kPhilox32M0;
    const V64 key1_1 = hn::Set(d, std::uint32_t(p >> 32) ^ std::uint32_t(k1_[1][0]));
    const V64 key1_2 = hn::Set(d, std::uint32_t(p) ^ std::uint32_t(k1_[2][0]));
    auto init = [&](int u, V64& c0, V64& c1, V64& c2, V64& c3) HWY_ATTR __attribute__((always_inline)) {
      const V64 m0 = hn::Set(d, kPhilox32M0), m1 = hn::Set(d, kPhilox32M1);
      const V64 p0 = Mul32(hn::Iota(d, first + n * std::uint64_t(u)), m0);  // round 0
      const V64 c2_0 = hn::Xor(hn::ShiftRight<32>(p0), hn::Load(d, key1_0_));
      const V64 p1 = Mul32(c2_0, m1);  // round 1
      c0 = hn::Xor(hn::ShiftRight<32>(p1), hn::Load(d, key0_1_));
      c1 = p1;
      c2 = hn::Xor(p0, key1_1);
      c3 = key1_2;  // round 2 reads c3 only as c3 ^ k1: key1_2 is that already
    };
    auto run = [&](auto&... c) HWY_ATTR __attribute__((always_inline)) {
      const V64 m0 = hn::Set(d, kPhilox32M0), m1 = hn::Set(d, kPhilox32M1);
      {  // round 2: c3 ^ k1 is the constant key1_2
        auto round = [&](int, V64& c0, V64& c1, V64& c2, V64& c3) HWY_ATTR __attribute__((always_inline)) {
          const V64 p0 = Mul32(c0, m0), p1 = Mul32(c2, m1);
          c0 = hn::Xor3(hn::ShiftRight<32>(p1), c1, hn::Load(d, k0_[2]));
          c2 = hn::Xor(hn::ShiftRight<32>(p0), c3);
          c1 = p1;
          c3 = p0;
        };
        EachGroup(round, 0, c...);
      }
      Rounds(3, c...);
      EachGroup(each, 0, c...);
    };
    WithGroups<V>(init, run);
  }
  /// FastStream::retry_block for (unit j, attempt a) in every lane into w0 … w3.
  HWY_INLINE void Retry(V64 j, V64 a, V64& w0, V64& w1, V64& w2, V64& w3) const {
    const D64 d;
    const V64 m0 = hn::Set(d, kPhilox32M0), m1 = hn::Set(d, kPhilox32M1);
    w0 = j;
    w1 = hn::ShiftRight<32>(j);
    w2 = hn::Set(d, task_lo_);
    w3 = hn::Set(d, task_hi_);
    for (unsigned r = 0; r < 10; ++r) {
      // k0 + attempt may carry past bit 31: only the low halves of the lanes are read.
      Philox32Round(m0, m1, hn::Add(hn::Load(d, k0_[r]), a), hn::Load(d, retry_k1_[r]), w0, w1, w2, w3);
    }
  }

 private:
  /// Rounds first … 9 on every group's counter words c (four per group).
  template <class... C>
  HWY_INLINE void Rounds(unsigned first, C&... c) const {
    const D64 d;
    const V64 m0 = hn::Set(d, kPhilox32M0), m1 = hn::Set(d, kPhilox32M1);
    for (unsigned r = first; r < 10; ++r) {
      const V64 key0 = hn::Load(d, k0_[r]), key1 = hn::Load(d, k1_[r]);
      auto round = [&](int, V64& c0, V64& c1, V64& c2, V64& c3) HWY_ATTR __attribute__((always_inline)) {
        Philox32Round(m0, m1, key0, key1, c0, c1, c2, c3);
      };
      EachGroup(round, 0, c...);
    }
  }

  // Round keys as lanes, loaded per round: a vector per round cannot be a member on SVE.
  HWY_ALIGN std::uint64_t k0_[10][kMaxLanes64], k1_[10][kMaxLanes64], retry_k1_[10][kMaxLanes64];
  // FoldedBlocks' constants of rounds 0 and 1 that do not depend on the counter.
  HWY_ALIGN std::uint64_t key1_0_[kMaxLanes64], key0_1_[kMaxLanes64];
  std::uint32_t task_lo_, task_hi_, q_hi_;
};

/// a · m as a 128-bit product per lane (hi, lo) from four 32×32 products, added in an
/// order that cannot overflow 64 bits: (2^32−1)² + 2(2^32−1) < 2^64.
HWY_INLINE void MulWide(V64 a, V64 m_lo, V64 m_hi, V64 low32, V64& hi, V64& lo) {
  const V64 a_hi = hn::ShiftRight<32>(a);
  const V64 p00 = Mul32(a, m_lo), p01 = Mul32(a, m_hi), p10 = Mul32(a_hi, m_lo), p11 = Mul32(a_hi, m_hi);
  const V64 t0 = hn::Add(p01, hn::ShiftRight<32>(p00));
  const V64 t1 = hn::Add(p10, hn::And(t0, low32));
  hi = hn::Add(hn::Add(p11, hn::ShiftRight<32>(t0)), hn::ShiftRight<32>(t1));
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
  lo = hn::Mul(a, hn::Or(hn::ShiftLeft<32>(m_hi), m_lo));  // one vpmullq: as fast as the parts
#else
  lo = hn::Or(hn::ShiftLeft<32>(t1), hn::And(p00, low32));
#endif
}

/// Philox4x64-10 of NumPy's counters (b + 1, 0, t, 0) for V × Lanes(d) blocks b.
class Philox64Lanes {
 public:
  Philox64Lanes(const Philox4x64Key& key, TaskId t) : task_(std::uint64_t(t)) {
    const D64 d;
    for (unsigned r = 0; r < 10; ++r) {
      hn::Store(hn::Set(d, key[0] + r * kPhilox64W0), d, k0_[r]);
      hn::Store(hn::Set(d, key[1] + r * kPhilox64W1), d, k1_[r]);
    }
  }
  /// Blocks first + N·u + l (group u < V, lane l < N = Lanes(d); NumPy bumps the counter
  /// first): calls each(u, w0, w1, w2, w3) with every group's four words.
  template <int V, class Each>
  HWY_INLINE void Blocks(std::uint64_t first, Each&& each) const {
    const D64 d;
    const std::uint64_t n = hn::Lanes(d);
    auto init = [&](int u, V64& c0, V64& c1, V64& c2, V64& c3) HWY_ATTR __attribute__((always_inline)) {
      c0 = hn::Iota(d, first + 1 + n * std::uint64_t(u));
      c1 = hn::Zero(d);
      c2 = hn::Set(d, task_);
      c3 = hn::Zero(d);
    };
    auto run = [&](auto&... c) HWY_ATTR __attribute__((always_inline)) {
      const V64 low32 = hn::Set(d, 0xffffffffu);
      const V64 m0_lo = hn::Set(d, kPhilox64M0 & 0xffffffffu), m0_hi = hn::Set(d, kPhilox64M0 >> 32);
      const V64 m1_lo = hn::Set(d, kPhilox64M1 & 0xffffffffu), m1_hi = hn::Set(d, kPhilox64M1 >> 32);
      for (unsigned r = 0; r < 10; ++r) {
        const V64 key0 = hn::Load(d, k0_[r]), key1 = hn::Load(d, k1_[r]);
        auto round = [&](int, V64& c0, V64& c1, V64& c2, V64& c3) HWY_ATTR __attribute__((always_inline)) {
          V64 hi0, lo0, hi1, lo1;
          MulWide(c0, m0_lo, m0_hi, low32, hi0, lo0);
          MulWide(c2, m1_lo, m1_hi, low32, hi1, lo1);
          c0 = hn::Xor3(hi1, c1, key0);
          c2 = hn::Xor3(hi0, c3, key1);
          c1 = lo1;
          c3 = lo0;
        };
        EachGroup(round, 0, c...);
      }
      EachGroup(each, 0, c...);
    };
    WithGroups<V>(init, run);
  }

 private:
  // Round keys as lanes, loaded per round: a vector per round cannot be a member on SVE.
  HWY_ALIGN std::uint64_t k0_[10][kMaxLanes64], k1_[10][kMaxLanes64];
  std::uint64_t task_;
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
