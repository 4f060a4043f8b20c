#pragma once
// Atomic replacement of a file: write a temp file in the same directory, fsync it,
// rename (or link, when the target must not be clobbered) into place, fsync the
// directory. A crash at any moment leaves either the old file or the new one.
#include <filesystem>
#include <functional>
#include <string>

namespace tally::io {

/// Calls `write(temp)` then moves temp onto `target`. With `replace` false an existing
/// target is never touched (usage Error). The temp file is removed on any failure.
void write_atomically(const std::filesystem::path& target, bool replace,
                      const std::function<void(const std::filesystem::path& temp)>& write);

/// Like write_atomically (replacing), and keeps the file it replaces as `previous`:
///   1. write(temp), fsync temp — `target` and `previous` untouched so far;
///   2. when `keep` and `target` exists: hard-link `target` to a temp name and rename
///      that onto `previous` (current and previous are then one file, both valid);
///   3. rename temp onto `target`; 4. fsync the directory.
/// At every instant `target` is a complete file (the old one, then the new one) and
/// `previous` a complete older one or absent. Where the file system has no hard links,
/// step 2 renames `target` to `previous` instead: only then is there a moment with no
/// `target`, and `previous` holds the good generation during it.
/// `keep` false replaces `target` and leaves `previous` alone (a newest file known bad
/// must not push a good previous one out).
void write_rotating(const std::filesystem::path& target, const std::filesystem::path& previous, bool keep,
                    const std::function<void(const std::filesystem::path& temp)>& write);

/// The temp name used for `target`: ".<name>.tmp.<host>.<pid>.<random hex>" in the
/// same directory (a rename never crosses file systems). Host, pid and 64 random bits:
/// two processes, even on two nodes sharing a file system, never pick the same name.
[[nodiscard]] std::filesystem::path temp_path_for(const std::filesystem::path& target);

/// The length of the longest file name temp_path_for(target) can give on this host, for
/// any pid: what the directory must allow for `target` to be written at all.
[[nodiscard]] std::size_t longest_temp_name(const std::filesystem::path& target);

/// Removes the temp files of `target` (".<name>.tmp.*" beside it) that a killed process
/// left. Only for a caller that holds the run lock: no other process writes them then.
/// Returns how many were removed.
std::size_t remove_stale_temps(const std::filesystem::path& target);

/// fsync of a file or directory by path; throws a failure Error.
void sync_path(const std::filesystem::path& path);

}  // namespace tally::io
