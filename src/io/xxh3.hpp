#pragma once
// XXH3-128 (libxxhash), the one hash behind the checkpoint digest (io/digest) and the
// whole-file seal (io/seal): one owner of the hashing state, one hex spelling.
#include <cstddef>
#include <memory>
#include <string>

struct XXH3_state_s;  // xxhash.h stays out of every header

namespace tally::io {

/// Incremental XXH3-128.
class Xxh3 {
 public:
  Xxh3();
  void update(const void* data, std::size_t size);
  /// The digest of everything updated so far: 32 lowercase hex digits, high 64 bits first.
  [[nodiscard]] std::string hex() const;

 private:
  struct Free {
    void operator()(XXH3_state_s* state) const;
  };
  std::unique_ptr<XXH3_state_s, Free> state_;
};

}  // namespace tally::io
