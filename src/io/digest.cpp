#include "io/digest.hpp"

#include <bit>

#include "io/xxh3.hpp"

namespace tally::io {

namespace {
/// The payload's two kinds of item: length-prefixed text and little-endian words.
class Hasher {
 public:
  void text(const std::string& s) {
    word(s.size());
    hash_.update(s.data(), s.size());
  }
  void word(std::uint64_t w) {
    unsigned char bytes[8];
    for (int i = 0; i < 8; ++i) bytes[i] = static_cast<unsigned char>(w >> (8 * i));  // little-endian everywhere
    hash_.update(bytes, sizeof bytes);
  }
  [[nodiscard]] std::string hex() const { return hash_.hex(); }

 private:
  Xxh3 hash_;
};
}  // namespace

std::string record_digest(const RunRecord& r, std::int64_t format_version) {
  const bool wide = (format_version != 0 ? format_version : r.format_version) >= 2;
  Hasher h;
  h.text(r.ledger.config().canonical_text());
  h.text(r.status);
  h.word(r.ledger.size());
  for (core::ChunkId id = 0; id < r.ledger.size(); ++id) {
    h.word(r.ledger.done(id) ? 1 : 0);
    const auto sum = static_cast<unsigned __int128>(r.ledger.chunk(id).sum);
    h.word(std::uint64_t(sum));
    if (wide) h.word(std::uint64_t(sum >> 64));
    h.word(r.ledger.chunk(id).missing);
  }
  h.word(std::uint64_t(r.restarts));
  h.word(std::bit_cast<std::uint64_t>(r.elapsed_seconds));
  h.word(r.histogram.size());
  for (auto cell : r.histogram) h.word(std::uint64_t(cell));
  return h.hex();
}

}  // namespace tally::io
