// io::Xxh3, the one XXH3-128 helper under the checkpoint digest and seal: pinned to
// values computed by python3-xxhash, whole or fed in pieces.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "io/xxh3.hpp"

namespace tally::io {
namespace {

std::string of(const std::string& bytes) {
  Xxh3 h;
  h.update(bytes.data(), bytes.size());
  return h.hex();
}

TEST(Xxh3, MatchesKnownDigests) {
  EXPECT_EQ(of(""), "99aa06d3014798d86001c324468d497f");
  EXPECT_EQ(of("abc"), "06b05ab6733a618578af5f94892f3950");
}

TEST(Xxh3, PiecesHashLikeTheWhole) {
  std::vector<unsigned char> data(3'000'000);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<unsigned char>((i * 7 + 3) % 251);
  Xxh3 whole, pieces;
  whole.update(data.data(), data.size());
  for (std::size_t at = 0, step = 1; at < data.size(); at += step, step = step * 3 + 1)
    pieces.update(data.data() + at, std::min(step, data.size() - at));
  EXPECT_EQ(whole.hex(), "1b2229c2f881cf6306505c9e469ecaa8");
  EXPECT_EQ(pieces.hex(), whole.hex());
}

}  // namespace
}  // namespace tally::io
