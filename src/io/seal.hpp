#pragma once
// The checkpoint seal: a whole-file XXH3-128 digest kept in the HDF5 user block (the
// first 512 bytes, which HDF5, h5py and h5dump skip by design). It is checked before
// the HDF5 library parses anything, so a torn or bit-flipped checkpoint is refused
// without exposing libhdf5's parser to damaged metadata.
#include <cstdint>
#include <filesystem>
#include <string>

namespace tally::io {

inline constexpr std::uint64_t kSealBytes = 512;  ///< HDF5 user block size (a power of two ≥ 512)
/// The seal's first line; readers recognise a sealed file by it before parsing anything.
inline constexpr const char* kSealMagic = "tally-seal v1";

/// Writes the seal into the user block of a closed HDF5 file created with kSealBytes of
/// user block: "tally-seal v1", the digest of bytes [512, end) and their count.
void write_seal(const std::filesystem::path& file);

/// Empty when the seal is present and matches the file; else what is wrong.
[[nodiscard]] std::string seal_problem(const std::filesystem::path& file);

}  // namespace tally::io
