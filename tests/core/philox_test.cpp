// Our Philox cores against the published known-answer vectors (Random123's
// tests/kat_vectors) and against Random123's own implementation on random inputs.
#include "core/philox.hpp"

#include <Random123/philox.h>
#include <gtest/gtest.h>

#include <random>

namespace tally::core {
namespace {

TEST(Philox, FourBy32MatchesPublishedVectors) {
  EXPECT_EQ(philox4x32_10({0, 0, 0, 0}, {0, 0}), (Philox4x32Ctr{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}));
  EXPECT_EQ(philox4x32_10({~0u, ~0u, ~0u, ~0u}, {~0u, ~0u}),
            (Philox4x32Ctr{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}));
  EXPECT_EQ(philox4x32_10({0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0}),
            (Philox4x32Ctr{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}));
}

TEST(Philox, FourBy64MatchesPublishedVectors) {
  EXPECT_EQ(philox4x64_10({0, 0, 0, 0}, {0, 0}),
            (Philox4x64Ctr{0x16554d9eca36314c, 0xdb20fe9d672d0fdc, 0xd7e772cee186176b, 0x7e68b68aec7ba23b}));
  EXPECT_EQ(philox4x64_10({~0ull, ~0ull, ~0ull, ~0ull}, {~0ull, ~0ull}),
            (Philox4x64Ctr{0x87b092c3013fe90b, 0x438c3c67be8d0224, 0x9cc7d7c69cd777b6, 0xa09caebf594f0ba0}));
  EXPECT_EQ(philox4x64_10({0x243f6a8885a308d3, 0x13198a2e03707344, 0xa4093822299f31d0, 0x082efa98ec4e6c89},
                          {0x452821e638d01377, 0xbe5466cf34e90c6c}),
            (Philox4x64Ctr{0xa528f45403e61d95, 0x38c72dbd566e9788, 0xa5a1610e72fd18b5, 0x57bd43b5e52b7fe6}));
}

TEST(Philox, AgreesWithRandom123OnRandomInputs) {
  std::mt19937_64 rng(1);
  for (int i = 0; i < 10000; ++i) {
    r123::Philox4x32 g32;
    r123::Philox4x32::ctr_type c32 = {{std::uint32_t(rng()), std::uint32_t(rng()), std::uint32_t(rng()),
                                       std::uint32_t(rng())}};
    r123::Philox4x32::key_type k32 = {{std::uint32_t(rng()), std::uint32_t(rng())}};
    const auto want32 = g32(c32, k32);
    const auto got32 = philox4x32_10({c32[0], c32[1], c32[2], c32[3]}, {k32[0], k32[1]});
    for (int w = 0; w < 4; ++w) ASSERT_EQ(got32[std::size_t(w)], want32[std::size_t(w)]);

    r123::Philox4x64 g64;
    r123::Philox4x64::ctr_type c64 = {{rng(), rng(), rng(), rng()}};
    r123::Philox4x64::key_type k64 = {{rng(), rng()}};
    const auto want64 = g64(c64, k64);
    const auto got64 = philox4x64_10({c64[0], c64[1], c64[2], c64[3]}, {k64[0], k64[1]});
    for (int w = 0; w < 4; ++w) ASSERT_EQ(got64[std::size_t(w)], want64[std::size_t(w)]);
  }
}

}  // namespace
}  // namespace tally::core
