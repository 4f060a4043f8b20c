#include "io/xxh3.hpp"

#include <xxhash.h>

#include <cstdio>
#include <new>

namespace tally::io {

void Xxh3::Free::operator()(XXH3_state_s* state) const { XXH3_freeState(state); }

Xxh3::Xxh3() : state_(XXH3_createState()) {
  if (!state_) throw std::bad_alloc();
  XXH3_128bits_reset(state_.get());
}

void Xxh3::update(const void* data, std::size_t size) { XXH3_128bits_update(state_.get(), data, size); }

std::string Xxh3::hex() const {
  const XXH128_hash_t h = XXH3_128bits_digest(state_.get());
  char text[33];
  std::snprintf(text, sizeof text, "%016llx%016llx", static_cast<unsigned long long>(h.high64),
                static_cast<unsigned long long>(h.low64));
  return text;
}

}  // namespace tally::io
