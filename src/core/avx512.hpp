#pragma once
// Shared by the AVX-512 code (*_avx512.cpp): the target attribute that lets a portable
// build carry it (chosen at run time by cpu_has_avx512()), the intrinsics header, and
// the loop over groups of blocks. Include only from those files.
//
// g++ 12's AVX-512 headers build some intrinsics from _mm512_undefined_epi32(), which
// -W(maybe-)uninitialized reports from inside the header; the values are all defined.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>

#define TALLY_AVX512 __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl")))

#include <cstdint>
#include <type_traits>

namespace tally::core::avx512 {

/// Runs body(g, integral_constant<V>) over groups of 8 blocks in [0, blocks), `kStep`
/// groups at a time while they last, then one at a time.
template <int kStep, typename Body>
TALLY_AVX512 inline void for_groups(std::uint64_t blocks, Body&& body) {
  std::uint64_t g = 0;
  for (; g + 8 * kStep <= blocks; g += 8 * kStep) body(g, std::integral_constant<int, kStep>{});
  for (; g < blocks; g += 8) body(g, std::integral_constant<int, 1>{});
}

}  // namespace tally::core::avx512
