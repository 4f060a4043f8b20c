#include "io/seal.hpp"

#include <xxhash.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <vector>

#include "core/error.hpp"

namespace tally::io {

namespace {
constexpr const char* kMagic = kSealMagic;

struct StateDeleter {
  void operator()(XXH3_state_t* s) const { XXH3_freeState(s); }
};

/// XXH3-128 of bytes [kSealBytes, end) of `in`, read in 64 KiB blocks (as fast as larger
/// ones, and cheap to allocate for the small files fuzzing makes); also counts them.
std::string payload_digest(std::istream& in, std::uint64_t& length) {
  std::unique_ptr<XXH3_state_t, StateDeleter> state(XXH3_createState());
  XXH3_128bits_reset(state.get());
  in.seekg(std::streamoff(kSealBytes));
  std::vector<char> buffer(1 << 16);
  length = 0;
  while (in) {
    in.read(buffer.data(), std::streamsize(buffer.size()));
    const auto got = static_cast<std::size_t>(in.gcount());
    XXH3_128bits_update(state.get(), buffer.data(), got);
    length += got;
  }
  const XXH128_hash_t h = XXH3_128bits_digest(state.get());
  char text[33];
  std::snprintf(text, sizeof text, "%016llx%016llx", static_cast<unsigned long long>(h.high64),
                static_cast<unsigned long long>(h.low64));
  return text;
}
}  // namespace

void write_seal(const std::filesystem::path& file) {
  std::fstream io(file, std::ios::in | std::ios::out | std::ios::binary);
  if (!io) throw Error(ExitCode::kFailure, "cannot reopen " + file.string() + " to seal it");
  std::uint64_t length = 0;
  const std::string digest = payload_digest(io, length);
  io.clear();
  std::string header = std::string(kMagic) + "\n" + digest + "\n" + std::to_string(length) + "\n";
  header.resize(kSealBytes, '\0');
  io.seekp(0);
  io.write(header.data(), std::streamsize(header.size()));
  io.flush();
  if (!io) throw Error(ExitCode::kFailure, "cannot seal " + file.string());
}

std::string seal_problem(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return "it cannot be opened";
  std::string header(kSealBytes, '\0');
  in.read(header.data(), std::streamsize(header.size()));
  if (static_cast<std::uint64_t>(in.gcount()) != kSealBytes) return "it is shorter than its seal (torn)";
  char magic[32] = {}, digest[33] = {};
  unsigned long long length = 0;
  if (std::sscanf(header.c_str(), "%31[^\n]\n%32[0-9a-f]\n%llu\n", magic, digest, &length) != 3 ||
      std::string(magic) != kMagic)
    return "it has no tally seal (not a checkpoint, or its first block is damaged)";
  in.clear();
  std::uint64_t actual_length = 0;
  const std::string actual = payload_digest(in, actual_length);
  if (actual_length != length)
    return "it holds " + std::to_string(actual_length) + " bytes after its seal, the seal says " +
           std::to_string(length) + " (torn)";
  if (actual != digest) return "its whole-file digest does not match (corrupt)";
  return {};
}

}  // namespace tally::io
