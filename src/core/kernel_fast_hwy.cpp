// The fast stream's vector kernels, written once against Highway and compiled per target
// (foreach_target.h re-includes this file once per target; HWY_DYNAMIC_DISPATCH picks
// the best one this CPU runs, or the one TALLY_KERNEL names: see cpu.hpp).
// - Packed mode: every lane's word becomes v = (w·M) >> 32, its base-s digit sum comes
//   from v − (s−1)·Σ⌊v/s^i⌋ by multiply-shift division. Rejected words (p ≤ 2^-12) are
//   summed like the others and corrected out of line by their (task, word) address, so
//   the sum never depends on the split.
// - Wide mode: two words make one 64-bit x per value; the offsets' sum comes from the
//   sums of x and (x·s) mod 2^64 (WideBlocks), by shifts for powers of two, from two
//   32×32 products below 2^32; rejected values are retried by their (task, value)
//   address, exactly as FastStream::wide_offset does.
// Results equal FastStream::sum_scalar bit for bit (tests/core/kernel_fast_test.cpp).
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "core/kernel_fast_hwy.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include "core/philox_hwy-inl.hpp"

#ifndef TALLY_CORE_KERNEL_FAST_HWY_ONCE
#define TALLY_CORE_KERNEL_FAST_HWY_ONCE
#include <algorithm>
#include <bit>
#include <vector>

#include "core/kernel_fast.hpp"
#include "core/stream_fast.hpp"

namespace tally::core::hwy_detail {
/// floor(v / s) = (v · magic) >> shift for every v < 2^20 (Granlund–Montgomery with
/// N = 20, l = ceil(log2 s): magic = ceil(2^(N+l) / s) < 2^21).
struct Divider {
  std::uint64_t magic;
  int shift;
  explicit Divider(std::uint32_t s) {
    int l = 0;
    while ((std::uint64_t{1} << l) < s) ++l;
    shift = 20 + l;
    magic = ((std::uint64_t{1} << shift) + s - 1) / s;
  }
};
/// Blocks per call of a vector loop: a packed kernel's 64-bit lane then adds at most
/// 2^24 · 4 numbers, each below 2^32, so no lane can overflow however long the range;
/// wide mode's sums of 64-bit x wrap, and are made exact with the sums of their high
/// halves (< 2^25 · 2^32). Pieces add in 128 bits.
inline constexpr std::uint64_t kPiece = std::uint64_t{1} << 24;
}  // namespace tally::core::hwy_detail
#endif

HWY_BEFORE_NAMESPACE();
namespace tally::core::HWY_NAMESPACE {

/// Which target this copy was compiled for (tests check that dispatch takes the best).
std::int64_t FastTarget() { return HWY_TARGET; }

#if HWY_TARGET == HWY_SCALAR
// One lane is the portable path: the baseline goes there (GCC 12's EMU128 is broken).
ChunkSum SumFast(const FastStream& s, TaskId t, Index a, Index b) { return sum_fast_portable(s, t, a, b); }
std::uint64_t PhiloxFloor(std::uint64_t blocks) {
  std::uint64_t acc = 0;
  for (std::uint64_t b = 0; b < blocks; ++b) {
    const auto w = philox4x32_10({std::uint32_t(b), std::uint32_t(b >> 32), 3, 0}, {1, 2});
    acc ^= w[0] ^ w[1] ^ w[2];
  }
  return acc;
}
#else

/// The fast stream's floor for benchmarks: Philox4x32-10 alone on `blocks` blocks (a
/// multiple of Lanes(d)), as the packed kernels run it, words only xor-ed together.
HWY_NOINLINE std::uint64_t PhiloxFloor(std::uint64_t blocks) {
  const D64 d;
  const Philox32Lanes philox({1, 2}, 3);
  V64 acc = hn::Zero(d);
  ForGroups<kPackedStep>(blocks, [&]<int V>(std::uint64_t g, std::integral_constant<int, V>) HWY_ATTR {
    philox.template FoldedBlocks<V>(g, [&](int, V64 w0, V64 w1, V64 w2, V64) HWY_ATTR __attribute__((always_inline)) {
      acc = hn::Xor3(acc, w0, hn::Xor(w1, w2));
    });
  });
  return SumOfLanesMod64(acc);
}

/// Packed mode: digit sums of blocks [first, first + blocks) (a multiple of Lanes(d), at
/// most kPiece); `redo` gets the correction for rejected words (modulo 2^64). kDigits:
/// digits per word known at compile time (0: read from the stream), which lets the
/// compiler unroll the quotient chain for the common spans.
template <bool kPow2, unsigned kDigits>
HWY_NOINLINE std::uint64_t PackedBlocks(const FastStream& s, TaskId t, std::uint64_t first, std::uint64_t blocks,
                                        std::uint64_t& redo) {
  const D64 d;
  const std::uint64_t n = hn::Lanes(d);
  const Philox32Lanes philox(s.key(), t);
  const unsigned k = kDigits != 0 ? kDigits : s.digits();
  unsigned log2_s = 0;
  while ((1u << log2_s) < s.span32()) ++log2_s;
  const hwy_detail::Divider divider(s.span32());
  const V64 modulus = hn::Set(d, s.word_modulus()), low32 = hn::Set(d, 0xffffffffu);
  const V64 magic = hn::Set(d, divider.magic), zero = hn::Zero(d);
  // 2^32 mod M < M ≤ 2^20: a rejected word has (w·M) mod 2^32 below 2^20. A group's
  // words keep the least of those low halves per lane (one 32-bit min a word; the high
  // halves are set before the test), and a group with one below 2^20 is checked exactly
  // out of line.
  const D32 d32;
  const auto high_halves = hn::BitCast(d32, hn::ShiftLeft<32>(low32));
  const auto all_ones = hn::BitCast(d32, hn::Set(d, ~std::uint64_t{0}));
  const int word_shift = int(32 - k * log2_s), shift = kPow2 ? int(log2_s) : divider.shift;
  // One digit of a power-of-two span is the word's top log2 s bits: summed in place
  // (masked, as multiples of 2^word_shift) and shifted down once at the end, two
  // operations per word instead of four. A lane adds at most 2^26 words below 2^32.
  constexpr bool kTopBits = kPow2 && kDigits == 1;
  const V64 top_bits = hn::Set(d, 0xffffffffu & ~((std::uint64_t{1} << word_shift) - 1));

  // Sum of digits of v = v − (s−1)·Σ⌊v/s^i⌋: v and the quotients accumulate apart.
  V64 acc_v = zero, acc_q = zero;
  std::uint64_t correction = 0;
  ForGroups<kPackedStep>(blocks, [&]<int V>(std::uint64_t g, std::integral_constant<int, V>) HWY_ATTR {
    philox.template FoldedBlocks<V>(first + g, [&](int u, V64 w0, V64 w1, V64 w2, V64 w3) HWY_ATTR __attribute__((always_inline)) {
      auto low_min = all_ones;
      auto word_digits = [&](V64 word) HWY_ATTR __attribute__((always_inline)) {
        if constexpr (kTopBits) {
          acc_v = hn::Add(acc_v, hn::And(word, top_bits));
          return;
        }
        V64 v;
        if constexpr (kPow2) {
          v = hn::ShiftRightSame(hn::And(word, low32), word_shift);
        } else {
          const V64 m = Mul32(word, modulus);
          low_min = hn::Min(low_min, hn::BitCast(d32, m));
          v = hn::ShiftRight<32>(m);
        }
        V64 q = v;
        for (unsigned i = 1; i < k; ++i) {
          q = kPow2 ? hn::ShiftRightSame(q, shift) : hn::ShiftRightSame(Mul32(q, magic), shift);
          acc_q = hn::Add(acc_q, q);
        }
        acc_v = hn::Add(acc_v, v);
      };
      word_digits(w0);
      word_digits(w1);
      word_digits(w2);
      word_digits(w3);
      const auto flagged = hn::Eq(hn::ShiftRight<20>(hn::Or(low_min, high_halves)), hn::Zero(d32));
      if (!kPow2 && !hn::AllFalse(d32, flagged)) [[unlikely]] {
        HWY_ALIGN std::uint64_t raw[4][HWY_MAX_BYTES / 8];
        hn::Store(w0, d, raw[0]);
        hn::Store(w1, d, raw[1]);
        hn::Store(w2, d, raw[2]);
        hn::Store(w3, d, raw[3]);
        for (std::uint64_t l = 0; l < n; ++l) {
          for (unsigned w = 0; w < 4; ++w) {
            const auto word = std::uint32_t(raw[w][l]);
            if (!s.packed_rejects(word)) continue;
            const std::uint64_t j = 4 * (first + g + n * std::uint64_t(u) + l) + w;
            const auto bad = std::uint32_t((std::uint64_t{word} * s.word_modulus()) >> 32);
            correction += s.digit_sum(s.packed_value(t, j, word), 0, k) - s.digit_sum(bad, 0, k);
          }
        }
      }
    });
  });
  const std::uint64_t v = SumOfLanesMod64(acc_v), q = SumOfLanesMod64(acc_q);
  redo += correction;
  if constexpr (kTopBits) return v >> word_shift;
  return v - std::uint64_t(s.span32() - 1) * q;
}

ChunkSum SumPacked(const FastStream& s, TaskId t, Index a, Index b) {
  const D64 d;
  const std::uint64_t n = hn::Lanes(d), per_block = 4 * std::uint64_t(s.digits());
  // Whole groups of Lanes(d) blocks inside [a, b) go to the vector loop; edges to the portable path.
  // Rounded up without a + per_block − 1, which wraps for a near 2^64.
  const std::uint64_t first_block = a / per_block + (a % per_block != 0), end_block = b / per_block;
  if (end_block < first_block + n) return sum_fast_portable(s, t, a, b);
  const std::uint64_t blocks = (end_block - first_block) / n * n;
  const Index mid_begin = first_block * per_block, mid_end = (first_block + blocks) * per_block;
  const bool pow2 = (s.span32() & (s.span32() - 1)) == 0;
  using Kernel = std::uint64_t (*)(const FastStream&, TaskId, std::uint64_t, std::uint64_t, std::uint64_t&);
  Kernel kernel = !pow2 ? &PackedBlocks<false, 0> : s.digits() == 1 ? &PackedBlocks<true, 1> : &PackedBlocks<true, 0>;
  if (!pow2) {
    switch (s.digits()) {  // spans 11 … 2^20: one to five digits per word
      case 1: kernel = &PackedBlocks<false, 1>; break;
      case 2: kernel = &PackedBlocks<false, 2>; break;
      case 3: kernel = &PackedBlocks<false, 3>; break;
      case 4: kernel = &PackedBlocks<false, 4>; break;
      case 5: kernel = &PackedBlocks<false, 5>; break;
      default: break;
    }
  }
  u128 digits = 0;
  for (std::uint64_t p = 0; p < blocks; p += std::min(hwy_detail::kPiece, blocks - p)) {
    std::uint64_t redo = 0;  // may stand for a negative correction: add it modulo 2^64
    const std::uint64_t piece = std::min(hwy_detail::kPiece, blocks - p);
    const std::uint64_t sum = kernel(s, t, first_block + p, piece, redo);
    digits += std::uint64_t(sum + redo);  // a piece's digit sum is below 2^24 · 4 · 20 · 2^20 < 2^51
  }
  const i128 middle = i128{s.range().lo} * i128(mid_end - mid_begin) + i128(digits);
  const auto head = sum_fast_portable(s, t, a, mid_begin), tail = sum_fast_portable(s, t, mid_end, b);
  return {middle + head.sum + tail.sum, 0};
}

/// Spans below 2^32 need fewer partial products for (x·s) mod 2^64; powers of two
/// 2^k (2^64 included) none: d = x >> (64 − k).
enum class WideSpan { kSmall, kBig, kPow2 };
/// How a wide-mode loop treats rejections: none possible (s a power of two or 2^64),
/// rare (summed like the others, then corrected out of line) or frequent (masked).
enum class Rejects { kNone, kRare, kMasked };

/// x = lo_word | hi_word << 32 from the low halves of two Philox words (high halves of
/// the lanes hold garbage): a shift and a blend.
HWY_INLINE V64 JoinWords(V64 lo_word, V64 hi_word) {
  const D64 d;
  const D32 d32;
  return hn::BitCast(d, hn::OddEven(hn::BitCast(d32, hn::ShiftLeft<32>(hi_word)), hn::BitCast(d32, lo_word)));
}

/// (x·s) mod 2^64 in every lane: one vpmullq on AVX-512, 32×32 products elsewhere.
template <WideSpan S>
HWY_INLINE V64 MulLow64(V64 x, V64 span, V64 span_lo, V64 span_hi) {
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
  (void)span_lo;
  (void)span_hi;
  return hn::Mul(x, span);
#else
  (void)span;
  V64 cross = Mul32(hn::ShiftRight<32>(x), span_lo);
  if constexpr (S == WideSpan::kBig) cross = hn::Add(cross, Mul32(x, span_hi));
  return hn::Add(Mul32(x, span_lo), hn::ShiftLeft<32>(cross));
#endif
}

/// Wide mode: sum of the offsets of values [2·first, 2·(first + blocks)), blocks a
/// multiple of Lanes(d) and at most kPiece.
/// No value's d = ⌊x·s / 2^64⌋ is formed: with lo = (x·s) mod 2^64, the accepted values
/// give Σd = (s·Σx − Σlo) / 2^64 exactly, so the loop needs only lo (the low product,
/// which also decides rejection) and the two sums, divided once per call in 192 bits.
/// Each sum is kept per lane modulo 2^64 together with the sum of its high 32-bit
/// halves: at most 2 · kPiece values are added, so their low halves add to less than
/// 2^57 and the two give the exact sum. Σlo modulo 2^64 is s·Σx modulo 2^64, so only
/// its high halves are summed.
/// R == kMasked (spans rejecting p ≥ 2^-16 of their draws): rejected lanes are zeroed
/// before they are summed and their (value, attempt) pairs queued; full vectors of them
/// get their next attempt together, so spans rejecting up to half their draws stay
/// vector code. kRare: every lane is summed, a one- or two-instruction test per value finds
/// steps that may hold a rejected value, and those are corrected out of line.
template <WideSpan S, Rejects R>
HWY_NOINLINE u128 WideBlocks(const FastStream& s, TaskId t, std::uint64_t first, std::uint64_t blocks) {
  const D64 d;
  const std::uint64_t n = hn::Lanes(d);
  const Philox32Lanes philox(s.key(), t);
  const V64 zero = hn::Zero(d), one = hn::Set(d, 1), threshold = hn::Set(d, s.wide_threshold());
  const V64 span = hn::Set(d, s.span64()), low32 = hn::Set(d, 0xffffffffu);
  // kPow2: d = x >> m.
  const int m = s.span64() == 0 ? 0 : std::countl_zero(s.span64()) + 1;
  const V64 span_lo = hn::Set(d, s.span64() & 0xffffffffu), span_hi = hn::Set(d, s.span64() >> 32);
  V64 acc_x = zero, acc_x_hi = zero, acc_lo_hi = zero;
  u128 correction = 0;  // modulo 2^128: what the vector loop added wrongly or skipped
  auto add = [&](V64 x, V64 lo) HWY_ATTR __attribute__((always_inline)) {
    acc_x = hn::Add(acc_x, x);
    acc_x_hi = hn::Add(acc_x_hi, hn::ShiftRight<32>(x));
    acc_lo_hi = hn::Add(acc_lo_hi, hn::ShiftRight<32>(lo));
  };
  // kRare: has a lane of a value since the last check had lo < threshold (a superset)?
  // Small spans (threshold < s < 2^32): lo < 2^32 needs a zero low half in (x·s) >> 32,
  // so the smallest 32-bit half of it (pminud everywhere) finds them; d = 0 (p ≈ 1/s)
  // is flagged too, which costs nothing but an exact check.
  const D32 d32;
  const V64 all_ones = hn::Set(d, ~std::uint64_t{0});
  V64 mid_min = all_ones;
  auto watch_mid = [&](V64 mid) HWY_ATTR __attribute__((always_inline)) {
    mid_min = hn::BitCast(d, hn::Min(hn::BitCast(d32, mid_min), hn::BitCast(d32, mid)));
  };
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
  // The smallest lo per lane: one vpminuq per value, compared once per step.
  V64 lo_min = all_ones;
  auto watch = [&](V64 lo) HWY_ATTR __attribute__((always_inline)) { lo_min = hn::Min(lo_min, lo); };
  auto watched_below = [&]() HWY_ATTR __attribute__((always_inline)) {
    const bool any = !hn::AllFalse(d, LessU64(lo_min, threshold));
    lo_min = all_ones;
    return any;
  };
#else
  // No unsigned 64-bit minimum here: lo < threshold implies hi(lo) < bound, a signed test.
  const DI64 di;
  const std::uint64_t bound = s.wide_threshold() == 0 ? 0 : ((s.wide_threshold() - 1) >> 32) + 1;
  const auto high_bound = hn::Set(di, std::int64_t(bound));
  auto flagged = hn::FirstN(d, 0);
  auto watch = [&](V64 lo) HWY_ATTR __attribute__((always_inline)) {
    flagged = hn::Or(flagged, hn::RebindMask(d, hn::Lt(hn::BitCast(di, hn::ShiftRight<32>(lo)), high_bound)));
  };
  auto watched_below = [&]() HWY_ATTR __attribute__((always_inline)) {
    const bool any = !hn::AllFalse(d, flagged);
    flagged = hn::FirstN(d, 0);
    return any;
  };
#endif
  // True when a lane watched since the last call may hold a rejected value; starts over.
  auto candidates = [&]() HWY_ATTR __attribute__((always_inline)) {
    if constexpr (S == WideSpan::kSmall) {
      const bool any = !hn::AllFalse(d32, hn::Eq(hn::BitCast(d32, mid_min), hn::Zero(d32)));
      mid_min = all_ones;
      return any;
    } else {
      return watched_below();
    }
  };
  // The retry queue: two buffers, the fresh one takes new rejections while a pass reads
  // the other. A pass runs once the fresh one holds kPassAt values, which keeps both far
  // below kCapacity (a group step adds at most 2 · kFastStep · Lanes ≤ 2^8 values).
  static constexpr bool kMasked = R == Rejects::kMasked;
  static constexpr std::size_t kCapacity = 2048, kPassAt = 512, kSlack = HWY_MAX_BYTES / 8;
  std::vector<std::uint64_t> queue_storage(kMasked ? 4 * (kCapacity + kSlack) : 0);
  std::uint64_t* units_of[2] = {queue_storage.data(), queue_storage.data() + (kCapacity + kSlack)};
  std::uint64_t* attempts_of[2] = {queue_storage.data() + 2 * (kCapacity + kSlack),
                                   queue_storage.data() + 3 * (kCapacity + kSlack)};
  std::size_t size_of[2] = {0, 0};
  int fresh = 0;
  auto push = [&](hn::Mask<D64> rejected, V64 units, V64 attempts) HWY_ATTR __attribute__((always_inline)) {
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
    // Compressed in a register and stored whole (into the slack): vpcompressq to memory
    // is several times slower, and Highway 1.0.3's Compress of 64-bit lanes copies a
    // 2 KiB table onto the stack per call (measured: span 10^19 at 16 ns per number).
    hn::StoreU(V64{_mm512_maskz_compress_epi64(rejected.raw, units.raw)}, d, units_of[fresh] + size_of[fresh]);
    hn::StoreU(V64{_mm512_maskz_compress_epi64(rejected.raw, attempts.raw)}, d, attempts_of[fresh] + size_of[fresh]);
    size_of[fresh] += hn::CountTrue(d, rejected);
#else
    // Highway 1.0.3's CompressStore copies a 512-byte table onto the stack per call on
    // AVX2 (measured: span 10^19 at 35 ns per number); lane by lane instead, without
    // branches (every lane is written, the size moves past the rejected ones only: a
    // branch per lane mispredicts about half the time).
    if (hn::AllFalse(d, rejected)) return;
    HWY_ALIGN std::uint64_t u_lanes[HWY_MAX_BYTES / 8], a_lanes[HWY_MAX_BYTES / 8], flags[HWY_MAX_BYTES / 8];
    hn::Store(units, d, u_lanes);
    hn::Store(attempts, d, a_lanes);
    hn::Store(hn::And(hn::VecFromMask(d, rejected), one), d, flags);
    std::size_t size = size_of[fresh];
    for (std::size_t l = 0; l < n; ++l) {
      units_of[fresh][size] = u_lanes[l];
      attempts_of[fresh][size] = a_lanes[l];
      size += flags[l];
    }
    size_of[fresh] = size;
#endif
  };
  // An exactly masked value: summed when accepted, else queued for its next attempt.
  auto masked = [&](V64 x, V64 units, V64 attempts) HWY_ATTR __attribute__((always_inline)) {
    const V64 lo = MulLow64<S>(x, span, span_lo, span_hi);
    const auto rejected = LessU64(lo, threshold);
    add(hn::IfThenZeroElse(rejected, x), hn::IfThenZeroElse(rejected, lo));
    push(rejected, units, attempts);
  };
  auto pass = [&]() HWY_ATTR __attribute__((always_inline)) {
    const int aged = fresh;
    fresh = 1 - fresh;
    size_of[fresh] = 0;
    const std::size_t full = size_of[aged] / n * n;
    std::size_t i = 0;
    // Several vectors' retries side by side: each is one long chain of dependent rounds.
    // Measured on 10^19 against one at a time: four 0.89× the time on AVX2, 0.87× on SSE4,
    // but 1.08× on AVX-512, where two measured 0.97× (bench/results/wide-20261206.txt).
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
    constexpr bool kFourAtOnce = false;
#else
    constexpr bool kFourAtOnce = true;
#endif
    for (; kFourAtOnce && i + 4 * n <= full; i += 4 * n) {
      const V64 j0 = hn::LoadU(d, units_of[aged] + i), a0 = hn::LoadU(d, attempts_of[aged] + i);
      const V64 j1 = hn::LoadU(d, units_of[aged] + i + n), a1 = hn::LoadU(d, attempts_of[aged] + i + n);
      const V64 j2 = hn::LoadU(d, units_of[aged] + i + 2 * n), a2 = hn::LoadU(d, attempts_of[aged] + i + 2 * n);
      const V64 j3 = hn::LoadU(d, units_of[aged] + i + 3 * n), a3 = hn::LoadU(d, attempts_of[aged] + i + 3 * n);
      V64 w00, w01, w02, w03, w10, w11, w12, w13, w20, w21, w22, w23, w30, w31, w32, w33;
      philox.Retry(j0, a0, w00, w01, w02, w03);
      philox.Retry(j1, a1, w10, w11, w12, w13);
      philox.Retry(j2, a2, w20, w21, w22, w23);
      philox.Retry(j3, a3, w30, w31, w32, w33);
      masked(JoinWords(w00, w01), j0, hn::Add(a0, one));
      masked(JoinWords(w10, w11), j1, hn::Add(a1, one));
      masked(JoinWords(w20, w21), j2, hn::Add(a2, one));
      masked(JoinWords(w30, w31), j3, hn::Add(a3, one));
    }
    for (; !kFourAtOnce && i + 2 * n <= full; i += 2 * n) {
      const V64 j0 = hn::LoadU(d, units_of[aged] + i), a0 = hn::LoadU(d, attempts_of[aged] + i);
      const V64 j1 = hn::LoadU(d, units_of[aged] + i + n), a1 = hn::LoadU(d, attempts_of[aged] + i + n);
      V64 w00, w01, w02, w03, w10, w11, w12, w13;
      philox.Retry(j0, a0, w00, w01, w02, w03);
      philox.Retry(j1, a1, w10, w11, w12, w13);
      masked(JoinWords(w00, w01), j0, hn::Add(a0, one));
      masked(JoinWords(w10, w11), j1, hn::Add(a1, one));
    }
    for (; i < full; i += n) {
      const V64 j = hn::LoadU(d, units_of[aged] + i), a = hn::LoadU(d, attempts_of[aged] + i);
      V64 w0, w1, w2, w3;
      philox.Retry(j, a, w0, w1, w2, w3);
      masked(JoinWords(w0, w1), j, hn::Add(a, one));
    }
    for (std::size_t k = full; k < size_of[aged]; ++k) {  // less than a vector: to the next pass
      units_of[fresh][size_of[fresh]] = units_of[aged][k];
      attempts_of[fresh][size_of[fresh]++] = attempts_of[aged][k];
    }
  };
  // Folded rounds in kPackedStep groups, as the packed kernels: 0.79-0.91x the time on
  // AVX2, 0.73-0.83x on SSE4, the same on AVX-512. The masked kernels (span 10^19), which
  // queue retries per group, measured 1.08x (AVX2) and 1.13x (AVX-512) slower so, 0.92x on
  // SSE4: they keep kFastStep groups of full rounds (bench/results/wide-fold-20261206.txt).
  constexpr int kStep = kMasked ? kFastStep : kPackedStep;
  ForGroups<kStep>(blocks, [&]<int V>(std::uint64_t g, std::integral_constant<int, V>) HWY_ATTR {
    auto each = [&](int u, V64 w0, V64 w1, V64 w2, V64 w3) HWY_ATTR __attribute__((always_inline)) {
      // Value 2b takes words 0, 1 of block b; value 2b + 1 words 2, 3.
      if constexpr (S == WideSpan::kSmall) {
        // d < 2^32 from (x·s) >> 32 = x_hi·s + (x_lo·s >> 32) < 2^64, summed as is. Mul32
        // reads only the low halves: the words need no joining.
        auto small = [&](V64 lo_word, V64 hi_word) HWY_ATTR __attribute__((always_inline)) {
          const V64 mid = hn::Add(Mul32(hi_word, span_lo), hn::ShiftRight<32>(Mul32(lo_word, span_lo)));
          acc_x = hn::Add(acc_x, hn::ShiftRight<32>(mid));
          if constexpr (R == Rejects::kRare) watch_mid(mid);
        };
        small(w0, w1);
        small(w2, w3);
        return;
      }
      if constexpr (S == WideSpan::kPow2) {
        // d = x >> m = (hi << (32 − m)) + (lo >> m) for m < 32, hi >> (m − 32) otherwise,
        // of the words' low halves: summed apart and combined once.
        if (m >= 32) {
          acc_x = hn::Add(acc_x, hn::ShiftRightSame(hn::And(w1, low32), m - 32));
          acc_x = hn::Add(acc_x, hn::ShiftRightSame(hn::And(w3, low32), m - 32));
        } else {
          acc_x = hn::Add(acc_x, hn::Add(hn::And(w1, low32), hn::And(w3, low32)));
          if (m == 0) {
            acc_x_hi = hn::Add(acc_x_hi, hn::Add(hn::And(w0, low32), hn::And(w2, low32)));
          } else {
            acc_x_hi = hn::Add(acc_x_hi, hn::ShiftRightSame(hn::ShiftLeft<32>(w0), m + 32));
            acc_x_hi = hn::Add(acc_x_hi, hn::ShiftRightSame(hn::ShiftLeft<32>(w2), m + 32));
          }
        }
        return;
      }
      const V64 x0 = JoinWords(w0, w1), x1 = JoinWords(w2, w3);
      if constexpr (kMasked) {
        // Value 2b + v of lane l's block b waits for attempt 1.
        const V64 units = hn::ShiftLeft<1>(hn::Iota(d, first + g + n * std::uint64_t(u)));
        masked(x0, units, one);
        masked(x1, hn::Add(units, one), one);
      } else {
        const V64 lo0 = MulLow64<S>(x0, span, span_lo, span_hi), lo1 = MulLow64<S>(x1, span, span_lo, span_hi);
        add(x0, lo0);
        add(x1, lo1);
        if constexpr (R == Rejects::kRare) {
          watch(lo0);
          watch(lo1);
        }
      }
    };
    if constexpr (kMasked) {
      philox.template Blocks<V>(first + g, each);
    } else {
      philox.template FoldedBlocks<V>(first + g, each);
    }
    if constexpr (R == Rejects::kRare) {
      if (candidates()) [[unlikely]] {
        // Every value of the step was summed as if accepted: replace the rejected ones'
        // d by their retried one.
        for (std::uint64_t b = first + g; b < first + g + std::uint64_t(V) * n; ++b) {
          const auto w = s.block(t, b);
          for (unsigned v = 0; v < 2; ++v) {
            const std::uint64_t x = w[2 * v] | (std::uint64_t{w[2 * v + 1]} << 32);
            if (!s.wide_rejects(x)) continue;
            correction += s.wide_offset(t, 2 * b + v, x);
            correction -= std::uint64_t((u128{x} * s.span64()) >> 64);
          }
        }
      }
    }
    if constexpr (kMasked) {
      if (size_of[fresh] >= kPassAt) pass();
    }
  });
  if constexpr (kMasked) {
    // Passes until less than a vector remains, then those one at a time from their
    // current attempt, exactly as FastStream::wide_offset.
    while (size_of[fresh] >= n) pass();
    for (std::size_t i = 0; i < size_of[fresh]; ++i) {
      for (auto a = std::uint32_t(attempts_of[fresh][i]);; ++a) {
        const auto w = s.retry_block(t, units_of[fresh][i], a);
        const std::uint64_t x = w[0] | (std::uint64_t{w[1]} << 32);
        if (!s.wide_rejects(x)) {
          correction += std::uint64_t((u128{x} * s.span64()) >> 64);
          break;
        }
      }
    }
  }
  (void)watch;
  (void)watch_mid;
  (void)candidates;
  (void)watched_below;
  if constexpr (S == WideSpan::kSmall) return u128{SumOfLanesMod64(acc_x)} + correction;  // < 2^57
  if constexpr (S == WideSpan::kPow2) {  // Σhi-terms, Σlo-terms: each below 2^57
    const std::uint64_t hi = SumOfLanesMod64(acc_x), lo = SumOfLanesMod64(acc_x_hi);
    return m >= 32 ? u128{hi} : (u128{hi} << (32 - m)) + lo;
  }
  // Σx exactly from its value modulo 2^64 and its high halves' sum (the low halves add
  // to less than 2^64).
  const std::uint64_t x_mod = SumOfLanesMod64(acc_x), x_hi = SumOfLanesMod64(acc_x_hi);
  const u128 sum_x = (u128{x_hi} << 32) + std::uint64_t(x_mod - (x_hi << 32));
  // Σlo likewise: its value modulo 2^64 is s·Σx modulo 2^64.
  const std::uint64_t span64 = s.span64(), lo_hi = SumOfLanesMod64(acc_lo_hi);
  const u128 sum_lo = (u128{lo_hi} << 32) + std::uint64_t(span64 * std::uint64_t(sum_x) - (lo_hi << 32));
  // Σd = (s·Σx − Σlo) / 2^64, s·Σx < 2^153: as low·2^64-weighted parts, the division
  // exact because the numerator is a multiple of 2^64.
  const u128 low = u128{span64} * std::uint64_t(sum_x), high = u128{span64} * std::uint64_t(sum_x >> 64);
  const u128 offsets = low >= sum_lo ? high + ((low - sum_lo) >> 64) : high - ((sum_lo - low) >> 64);
  return offsets + correction;
}

ChunkSum SumWide(const FastStream& s, TaskId t, Index a, Index b) {
  const D64 d;
  const std::uint64_t n = hn::Lanes(d);
  const std::uint64_t first_block = a / 2 + (a & 1), end_block = b / 2;  // a + 1 wraps at 2^64 − 1
  if (end_block < first_block + n) return sum_fast_portable(s, t, a, b);
  const std::uint64_t blocks = (end_block - first_block) / n * n;
  const Index mid_begin = 2 * first_block, mid_end = 2 * (first_block + blocks);
  const u128 span = s.range().span();
  // Only powers of two reject nothing; below 2^32 the threshold (2^64 mod s < s) is
  // always rare; p ≥ 2^-16 is masked.
  const bool rare = s.wide_threshold() < (std::uint64_t{1} << 48);
  auto* kernel = (span & (span - 1)) == 0 ? &WideBlocks<WideSpan::kPow2, Rejects::kNone>
                 : span < (u128{1} << 32) ? &WideBlocks<WideSpan::kSmall, Rejects::kRare>
                 : rare                   ? &WideBlocks<WideSpan::kBig, Rejects::kRare>
                                          : &WideBlocks<WideSpan::kBig, Rejects::kMasked>;
  u128 offsets = 0;
  for (std::uint64_t p = 0; p < blocks; p += std::min(hwy_detail::kPiece, blocks - p))
    offsets += kernel(s, t, first_block + p, std::min(hwy_detail::kPiece, blocks - p));
  const i128 middle = i128{s.range().lo} * i128(mid_end - mid_begin) + i128(offsets);
  const auto head = sum_fast_portable(s, t, a, mid_begin), tail = sum_fast_portable(s, t, mid_end, b);
  return {middle + head.sum + tail.sum, 0};
}

ChunkSum SumFast(const FastStream& s, TaskId t, Index a, Index b) {
  switch (s.mode()) {
    case FastStream::Mode::kPacked: return SumPacked(s, t, a, b);
    case FastStream::Mode::kWide: return SumWide(s, t, a, b);
    case FastStream::Mode::kConstant: break;
  }
  return sum_fast_portable(s, t, a, b);
}
#endif  // HWY_TARGET != HWY_SCALAR

}  // namespace tally::core::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace tally::core {
HWY_EXPORT(SumFast);
HWY_EXPORT(FastTarget);
HWY_EXPORT(PhiloxFloor);

std::uint64_t philox_floor_hwy(std::uint64_t blocks) { return HWY_DYNAMIC_DISPATCH(PhiloxFloor)(blocks); }

ChunkSum sum_fast_hwy(const FastStream& s, TaskId t, Index a, Index b) {
  return HWY_DYNAMIC_DISPATCH(SumFast)(s, t, a, b);
}

std::int64_t hwy_dispatched_target() { return HWY_DYNAMIC_DISPATCH(FastTarget)(); }

}  // namespace tally::core
#endif
