#pragma once
// HDF5 file locking policy: it breaks on many NFS/Lustre mounts, so users choose.
#include <string>

namespace tally::io {

enum class FileLocking { kOn, kOff, kBestEffort };

/// Parses "on", "off" or "best-effort"; throws a usage Error otherwise.
[[nodiscard]] FileLocking parse_file_locking(const std::string& text);
[[nodiscard]] std::string to_string(FileLocking locking);

}  // namespace tally::io
