// AVX-512 paths of the fast stream: eight Philox4x32-10 blocks per iteration, 32-bit
// words held in 64-bit lanes (vpmuludq reads the low halves, so high-half garbage is
// harmless), accumulation in registers.
// - Packed mode: base-s digit sums by multiply-shift division. Rejected words
//   (p ≤ 2^-12) are summed like the others and corrected out of line by their
//   (task, word) address, so the sum never depends on the split.
// - Wide mode: two words make one 64-bit x per value, x·s as a 128-bit product from
//   vpmuludq partial products; rejected values (rare for most spans) are retried out of
//   line by their (task, value) address, exactly as FastStream::wide_offset does.
#include "core/fast_avx512.hpp"

#include <algorithm>
#include <bit>
#include <utility>

#include "core/kernel_fast.hpp"

namespace tally::core {

namespace {

using avx512::for_groups;
using avx512::kStep;
using avx512::PackedWords;
using avx512::Philox8;

/// Blocks per call of a vector loop: a 64-bit lane then adds at most 2^24 / 8 · 4 = 2^23
/// numbers, each below 2^32 (wide mode: 32-bit halves; packed: v < 2^20 and quotients),
/// so no lane can overflow however long the range. Pieces are added in 128 bits.
constexpr std::uint64_t kPiece = std::uint64_t{1} << 24;

/// Packed mode, K digits per word. kPow2: s is a power of two, so M = 2^k, nothing is
/// rejected and v = w >> (32 − k), digits by shifts: no multiplies beyond Philox's.
template <unsigned K, bool kPow2>
TALLY_AVX512 std::uint64_t packed_blocks(const FastStream& s, TaskId t, std::uint64_t first_block,
                                         std::uint64_t blocks, std::uint64_t& redo_digits) {
  const Philox8 philox(s.key(), t);
  const PackedWords<K, kPow2> packed(s);

  // Sum of digits of v = v − (s−1)·Σ⌊v/s^i⌋: accumulate v and the quotients apart and
  // combine once at the end. Rejected lanes are added like the others and corrected
  // out of line, which keeps masks out of the hot loop.
  __m512i acc_v = _mm512_setzero_si512(), acc_q = _mm512_setzero_si512();
  std::uint64_t correction = 0;  // modulo 2^64
  for_groups<kStep>(blocks, [&]<int V>(std::uint64_t g, std::integral_constant<int, V>) TALLY_AVX512 {
    __m512i c[V][4];
    philox.template operator()<V>(first_block + g, c);
    for (int u = 0; u < V; ++u) {
      __mmask8 flagged[4] = {0, 0, 0, 0};
      for (unsigned w = 0; w < 4; ++w) {
        const __m512i v = packed.value(c[u][w], flagged[w]);
        __m512i q = v;
        for (unsigned i = 1; i < K; ++i) {
          q = kPow2 ? _mm512_srl_epi64(q, packed.shift)
                    : _mm512_srl_epi64(_mm512_mul_epu32(q, packed.magic), packed.shift);
          acc_q = _mm512_add_epi64(acc_q, q);
        }
        acc_v = _mm512_add_epi64(acc_v, v);
      }
      if ((flagged[0] | flagged[1] | flagged[2] | flagged[3]) != 0) [[unlikely]] {
        packed.for_rejected(s, first_block + g + 8 * std::uint64_t(u), c[u], flagged,
                            [&](std::uint64_t j, std::uint32_t word, std::uint32_t bad) {
                              correction += s.digit_sum(s.packed_value(t, j, word), 0, K) - s.digit_sum(bad, 0, K);
                            });
      }
    }
  });
  const std::uint64_t v = std::uint64_t(_mm512_reduce_add_epi64(acc_v));
  const std::uint64_t q = std::uint64_t(_mm512_reduce_add_epi64(acc_q));
  redo_digits += correction;
  return v - std::uint64_t(s.span32() - 1) * q;
}

using PackedBlocks = std::uint64_t (*)(const FastStream&, TaskId, std::uint64_t, std::uint64_t, std::uint64_t&);

template <unsigned... Ks>
PackedBlocks pick(unsigned k, bool pow2, std::integer_sequence<unsigned, Ks...>) {
  PackedBlocks chosen = nullptr;
  ((k == Ks + 1 ? (chosen = pow2 ? &packed_blocks<Ks + 1, true> : &packed_blocks<Ks + 1, false>, 0) : 0), ...);
  return chosen;
}

/// How a wide-mode kernel treats rejections: none possible (s a power of two or 2^64),
/// rare (added like the others, then corrected out of line) or frequent (masked).
enum class Rejects { kNone, kRare, kMasked };
/// Spans below 2^32 need two partial products, larger ones four; 2^64 none.
enum class WideSpan { kSmall, kBig, kFull };


/// Wide mode's Lemire step on eight 64-bit draws x: d = ⌊x·s / 2^64⌋ from vpmuludq
/// partial products, and the lanes flagged as rejected ((x·s) mod 2^64 < threshold):
/// none (R = kNone: none can be), exactly (kMasked), or a superset found with one test
/// (kRare: rejections are rare and checked out of line).
struct Lemire64 {
  __m512i low32, span_lo, span_hi, threshold, flag_bits;
  TALLY_AVX512 explicit Lemire64(const FastStream& s) {
    low32 = _mm512_set1_epi64(0xffffffff);
    span_lo = _mm512_set1_epi64(std::int64_t(s.span64() & 0xffffffff));
    span_hi = _mm512_set1_epi64(std::int64_t(s.span64() >> 32));
    threshold = _mm512_set1_epi64(std::int64_t(s.wide_threshold()));
    // (x·s) mod 2^64 < threshold < 2^width leaves these bits of its high half zero.
    const unsigned width = unsigned(std::bit_width(s.wide_threshold()));
    flag_bits = _mm512_set1_epi64(
        std::int64_t(width <= 32 ? 0xffffffffu : 0xffffffffu & ~((std::uint64_t{1} << (width - 32)) - 1)));
  }
  template <WideSpan S, Rejects R>
  TALLY_AVX512 inline __m512i operator()(__m512i x, __mmask8& flagged) const {
    flagged = 0;
    if constexpr (S == WideSpan::kFull) {
      return x;
    } else if constexpr (S == WideSpan::kSmall) {
      const __m512i p00 = _mm512_mul_epu32(x, span_lo), p10 = _mm512_mul_epu32(_mm512_srli_epi64(x, 32), span_lo);
      const __m512i mid = _mm512_add_epi64(p10, _mm512_srli_epi64(p00, 32));  // (x·s) >> 32
      if constexpr (R == Rejects::kMasked) {
        const __m512i lo = _mm512_ternarylogic_epi64(_mm512_slli_epi64(mid, 32), p00, low32, 0xF8);
        flagged = _mm512_cmplt_epu64_mask(lo, threshold);
      } else if constexpr (R == Rejects::kRare) {
        flagged = _mm512_testn_epi64_mask(mid, flag_bits);
      }
      return _mm512_srli_epi64(mid, 32);
    } else {
      const __m512i x_hi = _mm512_srli_epi64(x, 32);
      const __m512i p00 = _mm512_mul_epu32(x, span_lo), p01 = _mm512_mul_epu32(x, span_hi);
      const __m512i p10 = _mm512_mul_epu32(x_hi, span_lo), p11 = _mm512_mul_epu32(x_hi, span_hi);
      const __m512i t0 = _mm512_add_epi64(p01, _mm512_srli_epi64(p00, 32));
      const __m512i t1 = _mm512_add_epi64(p10, _mm512_and_si512(t0, low32));  // low half: bits 32-63 of x·s
      if constexpr (R == Rejects::kMasked) {
        const __m512i lo = _mm512_ternarylogic_epi64(_mm512_slli_epi64(t1, 32), p00, low32, 0xF8);
        flagged = _mm512_cmplt_epu64_mask(lo, threshold);
      } else if constexpr (R == Rejects::kRare) {
        flagged = _mm512_testn_epi64_mask(t1, flag_bits);
      }
      return _mm512_add_epi64(_mm512_add_epi64(p11, _mm512_srli_epi64(t0, 32)), _mm512_srli_epi64(t1, 32));
    }
  }
};

/// Rejected wide values waiting for their next attempt: retried eight per register,
/// several registers interleaved, so that spans rejecting up to half their draws stay
/// fast. Two buffers: new rejections go to the fresh one while a pass retries the aged
/// one (filled a step earlier), so the pass's loads never wait on stores just made,
/// which would stall the pipeline.
struct RetryQueue {
  // Below half of it a buffer takes a step's 16 · kStep rejections, a pass's output and
  // a full store's slack (p < 1/2 in wide mode keeps it there but for rare runs of bad
  // luck, which get extra passes).
  static constexpr unsigned kCapacity = 1024;
  alignas(64) std::uint64_t unit[2][kCapacity];
  alignas(64) std::uint64_t attempt[2][kCapacity];
  unsigned size[2] = {0, 0};
  unsigned fresh = 0;
  /// Appends the lanes of `which` to the fresh buffer: compressed in a register and
  /// stored whole (a compressing store to memory is slow on some cores).
  TALLY_AVX512 void push(__mmask8 which, __m512i units, __m512i attempts) {
    _mm512_storeu_si512(unit[fresh] + size[fresh], _mm512_maskz_compress_epi64(which, units));
    _mm512_storeu_si512(attempt[fresh] + size[fresh], _mm512_maskz_compress_epi64(which, attempts));
    size[fresh] += unsigned(__builtin_popcount(which));
  }
};

/// Sum of the offsets d of values [2·first_block, 2·(first_block + blocks)) of task t,
/// blocks a multiple of 8 and at most kPiece (lane sums stay far below 2^64).
template <WideSpan S, Rejects R>
TALLY_AVX512 u128 wide_blocks(const FastStream& s, TaskId t, std::uint64_t first_block, std::uint64_t blocks) {
  const Philox8 philox(s.key(), t);
  const Lemire64 lemire(s);
  const __m512i low32 = _mm512_set1_epi64(0xffffffff), one = _mm512_set1_epi64(1);
  // x = word 2i (low half) | word 2i+1 (high half) in one permute: dword 2l of a, dword 2l of b.
  const __m512i pair = _mm512_set_epi32(30, 14, 28, 12, 26, 10, 24, 8, 22, 6, 20, 4, 18, 2, 16, 0);

  // d < 2^32 (small spans) in one accumulator; wider d as low and high 32-bit halves.
  __m512i acc_lo = _mm512_setzero_si512(), acc_hi = _mm512_setzero_si512();
  u128 correction = 0;  // modulo 2^128: what the vector loop added wrongly or skipped
  auto add = [&](__m512i d, __mmask8 keep) TALLY_AVX512 {
    if constexpr (S == WideSpan::kSmall) {
      acc_lo = _mm512_mask_add_epi64(acc_lo, keep, acc_lo, d);
    } else {
      acc_lo = _mm512_mask_add_epi64(acc_lo, keep, acc_lo, _mm512_and_si512(d, low32));
      acc_hi = _mm512_mask_add_epi64(acc_hi, keep, acc_hi, _mm512_srli_epi64(d, 32));
    }
  };
  RetryQueue queue;
  // One pass over the aged buffer: every full register of eight values gets its next
  // attempt; accepted values are added, the others (and a partial register as it is) go
  // to the fresh buffer with attempt + 1. Then the fresh buffer becomes the aged one.
  auto retry_pass = [&]() __attribute__((always_inline)) TALLY_AVX512 {  // keeps accumulators in registers
    const unsigned aged = 1 - queue.fresh, full = queue.size[aged] / 8 * 8;
    const std::uint64_t* units = queue.unit[aged];
    const std::uint64_t* attempts = queue.attempt[aged];
    for (unsigned i = full; i < queue.size[aged]; ++i) {
      queue.unit[queue.fresh][queue.size[queue.fresh]] = units[i];
      queue.attempt[queue.fresh][queue.size[queue.fresh]++] = attempts[i];
    }
    auto batch = [&]<int V>(unsigned at, std::integral_constant<int, V>) __attribute__((always_inline)) TALLY_AVX512 {
      __m512i j[V], a[V], c[V][4];
      for (int v = 0; v < V; ++v) {
        j[v] = _mm512_load_si512(units + at + 8 * v);
        a[v] = _mm512_load_si512(attempts + at + 8 * v);
      }
      philox.template retry<V>(j, a, c);
      for (int v = 0; v < V; ++v) {
        __mmask8 rejected;
        const __m512i d =
            lemire.template operator()<S, Rejects::kMasked>(_mm512_permutex2var_epi32(c[v][0], pair, c[v][1]), rejected);
        add(d, __mmask8(~rejected));
        queue.push(rejected, j[v], _mm512_add_epi64(a[v], one));
      }
    };
    unsigned at = 0;
    for (; at + 32 <= full; at += 32) batch(at, std::integral_constant<int, 4>{});
    for (; at < full; at += 8) batch(at, std::integral_constant<int, 1>{});
    queue.size[aged] = 0;
    queue.fresh = aged;
  };

  for_groups<kStep>(blocks, [&]<int V>(std::uint64_t g, std::integral_constant<int, V>) TALLY_AVX512 {
    __m512i c[V][4];
    philox.template operator()<V>(first_block + g, c);
    for (int u = 0; u < V; ++u) {
      // Value 2b takes words 0, 1 of block b; value 2b + 1 words 2, 3.
      const __m512i xs[2] = {_mm512_permutex2var_epi32(c[u][0], pair, c[u][1]),
                             _mm512_permutex2var_epi32(c[u][2], pair, c[u][3])};
      __mmask8 flagged[2] = {0, 0};
      for (unsigned v = 0; v < 2; ++v) {
        const __m512i d = lemire.template operator()<S, R>(xs[v], flagged[v]);
        if constexpr (R == Rejects::kMasked) {
          add(d, __mmask8(~flagged[v]));
          // Queue the rejected values (index 2b + v of lane l's block b) for attempt 1.
          const __m512i blocks_of_lanes = _mm512_add_epi64(
              _mm512_set1_epi64(std::int64_t(first_block + g + 8 * std::uint64_t(u))), _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0));
          const __m512i units = _mm512_add_epi64(_mm512_slli_epi64(blocks_of_lanes, 1), _mm512_set1_epi64(v));
          queue.push(flagged[v], units, one);
        } else {
          add(d, 0xff);
        }
      }
      if constexpr (R == Rejects::kRare) {
        if ((flagged[0] | flagged[1]) != 0) [[unlikely]] {
          for (unsigned v = 0; v < 2; ++v) {
            if (flagged[v] == 0) continue;
            alignas(64) std::uint64_t raw[8];
            _mm512_store_si512(raw, xs[v]);
            for (unsigned l = 0; l < 8; ++l) {
              if (!(flagged[v] >> l & 1) || !s.wide_rejects(raw[l])) continue;
              const Index n = 2 * (first_block + g + 8 * std::uint64_t(u) + l) + v;
              correction += s.wide_offset(t, n, raw[l]);
              correction -= std::uint64_t((u128{raw[l]} * s.span64()) >> 64);
            }
          }
        }
      }
    }
    if constexpr (R == Rejects::kMasked) {
      retry_pass();
      while (queue.size[1 - queue.fresh] > RetryQueue::kCapacity / 2) retry_pass();  // rare: stalls
    }
  });
  // Pass until fewer than a register's worth remain, then finish those one at a time
  // from their current attempt.
  if constexpr (R == Rejects::kMasked) {
    while (queue.size[0] + queue.size[1] >= 8) retry_pass();
  }
  for (unsigned k = 0; k < 2; ++k) {
    for (unsigned i = 0; i < queue.size[k]; ++i) {
      for (auto a = std::uint32_t(queue.attempt[k][i]);; ++a) {
        const auto w = s.retry_block(t, queue.unit[k][i], a);
        const std::uint64_t x = w[0] | (std::uint64_t{w[1]} << 32);
        if (!s.wide_rejects(x)) {
          correction += std::uint64_t((u128{x} * s.span64()) >> 64);
          break;
        }
      }
    }
  }
  alignas(64) std::uint64_t lo[8], hi[8];
  _mm512_store_si512(lo, acc_lo);
  _mm512_store_si512(hi, acc_hi);
  u128 out = correction;
  for (unsigned l = 0; l < 8; ++l) out += u128{lo[l]} + (u128{hi[l]} << 32);
  return out;
}

using WideBlocks = u128 (*)(const FastStream&, TaskId, std::uint64_t, std::uint64_t);

WideBlocks pick_wide(const FastStream& s, RejectPath path) {
  const u128 span = s.range().span();
  const std::uint64_t threshold = s.wide_threshold();
  const bool rare = path == RejectPath::kAuto ? threshold < (std::uint64_t{1} << 48)  // p < 2^-16
                                              : path == RejectPath::kRare;
  if (span == (u128{1} << 64)) return &wide_blocks<WideSpan::kFull, Rejects::kNone>;
  if (span < (u128{1} << 32)) return rare ? &wide_blocks<WideSpan::kSmall, Rejects::kRare>
                                          : &wide_blocks<WideSpan::kSmall, Rejects::kMasked>;
  if (threshold == 0 && path == RejectPath::kAuto) return &wide_blocks<WideSpan::kBig, Rejects::kNone>;
  return rare ? &wide_blocks<WideSpan::kBig, Rejects::kRare> : &wide_blocks<WideSpan::kBig, Rejects::kMasked>;
}

ChunkSum sum_wide(const FastStream& s, TaskId t, Index a, Index b, RejectPath path) {
  // Whole groups of eight blocks (16 values) inside [a, b) go to the vector loop.
  const std::uint64_t first_block = (a + 1) / 2, end_block = b / 2;
  if (end_block < first_block + 8) return sum_fast_portable(s, t, a, b);
  const std::uint64_t blocks = (end_block - first_block) / 8 * 8;
  const Index mid_begin = 2 * first_block, mid_end = 2 * (first_block + blocks);
  const WideBlocks kernel = pick_wide(s, path);
  u128 offsets = 0;
  for (std::uint64_t p = 0; p < blocks; p += std::min(kPiece, blocks - p))
    offsets += kernel(s, t, first_block + p, std::min(kPiece, blocks - p));
  const i128 middle = i128{s.range().lo} * i128(mid_end - mid_begin) + i128(offsets);
  const auto head = sum_fast_portable(s, t, a, mid_begin), tail = sum_fast_portable(s, t, mid_end, b);
  return {middle + head.sum + tail.sum, 0};
}

}  // namespace

ChunkSum sum_fast_avx512(const FastStream& s, TaskId t, Index a, Index b, RejectPath path) {
  if (s.mode() == FastStream::Mode::kWide) return sum_wide(s, t, a, b, path);
  if (s.mode() != FastStream::Mode::kPacked) return sum_fast_portable(s, t, a, b);
  const std::uint64_t per_block = 4 * std::uint64_t(s.digits());
  // Whole groups of eight blocks inside [a, b) go to the vector loop; edges to the portable path.
  const std::uint64_t first_block = (a + per_block - 1) / per_block;
  const std::uint64_t end_block = b / per_block;
  if (end_block < first_block + 8) return sum_fast_portable(s, t, a, b);
  const std::uint64_t blocks = (end_block - first_block) / 8 * 8;
  const Index mid_begin = first_block * per_block, mid_end = (first_block + blocks) * per_block;

  const PackedBlocks kernel =
      pick(s.digits(), (s.span32() & (s.span32() - 1)) == 0, std::make_integer_sequence<unsigned, 20>{});
  u128 digits = 0;
  for (std::uint64_t p = 0; p < blocks; p += std::min(kPiece, blocks - p)) {
    std::uint64_t redo = 0;  // may stand for a negative correction: add it modulo 2^64
    const std::uint64_t piece = kernel(s, t, first_block + p, std::min(kPiece, blocks - p), redo);
    digits += std::uint64_t(piece + redo);  // a piece's digit sum is below 2^24 · 4 · 20 · 2^20 < 2^51
  }
  const i128 middle = i128{s.range().lo} * i128(mid_end - mid_begin) + i128(digits);
  const auto head = sum_fast_portable(s, t, a, mid_begin), tail = sum_fast_portable(s, t, mid_end, b);
  return {middle + head.sum + tail.sum, 0};
}

}  // namespace tally::core
