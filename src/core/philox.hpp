#pragma once
// Scalar Philox4x32-10 and Philox4x64-10 (Salmon et al., SC'11), as Random123
// defines them. These are the readable definitions; SIMD kernels are tested against them.
#include <array>
#include <cstdint>

#include "core/types.hpp"

namespace tally::core {

using Philox4x32Ctr = std::array<std::uint32_t, 4>;
using Philox4x32Key = std::array<std::uint32_t, 2>;
using Philox4x64Ctr = std::array<std::uint64_t, 4>;
using Philox4x64Key = std::array<std::uint64_t, 2>;

inline constexpr std::uint32_t kPhilox32M0 = 0xD2511F53u;
inline constexpr std::uint32_t kPhilox32M1 = 0xCD9E8D57u;
inline constexpr std::uint32_t kPhilox32W0 = 0x9E3779B9u;
inline constexpr std::uint32_t kPhilox32W1 = 0xBB67AE85u;
inline constexpr std::uint64_t kPhilox64M0 = 0xD2E7470EE14C6C93ull;
inline constexpr std::uint64_t kPhilox64M1 = 0xCA5A826395121157ull;
inline constexpr std::uint64_t kPhilox64W0 = 0x9E3779B97F4A7C15ull;
inline constexpr std::uint64_t kPhilox64W1 = 0xBB67AE8584CAA73Bull;

[[nodiscard]] constexpr Philox4x32Ctr philox4x32_10(Philox4x32Ctr c, Philox4x32Key k) {
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      k[0] += kPhilox32W0;
      k[1] += kPhilox32W1;
    }
    const std::uint64_t p0 = std::uint64_t{kPhilox32M0} * c[0];
    const std::uint64_t p1 = std::uint64_t{kPhilox32M1} * c[2];
    c = {std::uint32_t(p1 >> 32) ^ c[1] ^ k[0], std::uint32_t(p1), std::uint32_t(p0 >> 32) ^ c[3] ^ k[1],
         std::uint32_t(p0)};
  }
  return c;
}

[[nodiscard]] constexpr Philox4x64Ctr philox4x64_10(Philox4x64Ctr c, Philox4x64Key k) {
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      k[0] += kPhilox64W0;
      k[1] += kPhilox64W1;
    }
    const u128 p0 = u128{kPhilox64M0} * c[0];
    const u128 p1 = u128{kPhilox64M1} * c[2];
    c = {std::uint64_t(p1 >> 64) ^ c[1] ^ k[0], std::uint64_t(p1), std::uint64_t(p0 >> 64) ^ c[3] ^ k[1],
         std::uint64_t(p0)};
  }
  return c;
}

}  // namespace tally::core
