#pragma once
// Atomic replacement of a file: write a temp file in the same directory, fsync it,
// rename (or link, when the target must not be clobbered) into place, fsync the
// directory. A crash at any moment leaves either the old file or the new one.
#include <filesystem>
#include <functional>

namespace tally::io {

/// Calls `write(temp)` then moves temp onto `target`. With `replace` false an existing
/// target is never touched (usage Error). The temp file is removed on any failure.
void write_atomically(const std::filesystem::path& target, bool replace,
                      const std::function<void(const std::filesystem::path& temp)>& write);

/// fsync of a file or directory by path; throws a failure Error.
void sync_path(const std::filesystem::path& path);

}  // namespace tally::io
