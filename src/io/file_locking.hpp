#pragma once
// HDF5 file locking policy: it breaks on many NFS/Lustre mounts, so users choose
// (`--file-locking`; its words are in app/options.hpp).

namespace tally::io {

enum class FileLocking { kOn, kOff, kBestEffort };

}  // namespace tally::io
