#include "io/digest.hpp"

#include <xxhash.h>

#include <bit>
#include <cstdio>
#include <memory>

namespace tally::io {

namespace {
struct StateDeleter {
  void operator()(XXH3_state_t* state) const { XXH3_freeState(state); }
};

class Hasher {
 public:
  Hasher() : state_(XXH3_createState()) { XXH3_128bits_reset(state_.get()); }
  void text(const std::string& s) {
    word(s.size());
    XXH3_128bits_update(state_.get(), s.data(), s.size());
  }
  void word(std::uint64_t w) {
    unsigned char bytes[8];
    for (int i = 0; i < 8; ++i) bytes[i] = static_cast<unsigned char>(w >> (8 * i));  // little-endian everywhere
    XXH3_128bits_update(state_.get(), bytes, sizeof bytes);
  }
  [[nodiscard]] std::string hex() const {
    const XXH128_hash_t h = XXH3_128bits_digest(state_.get());
    char out[33];
    std::snprintf(out, sizeof out, "%016llx%016llx", static_cast<unsigned long long>(h.high64),
                  static_cast<unsigned long long>(h.low64));
    return out;
  }

 private:
  std::unique_ptr<XXH3_state_t, StateDeleter> state_;
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
