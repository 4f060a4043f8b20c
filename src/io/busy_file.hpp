#pragma once
// A tally file that another program has open for writing is busy, not damaged: its
// bytes may be changing under us, so neither its seal nor its digest may be judged now,
// and a checkpoint must not be given up for its previous generation.

#include <filesystem>
#include <string>
#include <string_view>

namespace tally::io {

/// Non-empty (one line naming `what` and the path, and what to do) when another program
/// holds an exclusive flock on `path` (HDF5's file locking does so for h5py's "r+" or
/// "a", as does any tool that locks a file it changes), or when HDF5 has marked the file
/// itself open for writing (superblock flags, even without file locking).
[[nodiscard]] std::string busy_problem(const std::filesystem::path& path, std::string_view what);

}  // namespace tally::io
