#pragma once
// Up-front checks of every path a run will write: the results file, the checkpoint and
// its previous generation. Done before any work so that a mistake costs seconds, not
// a whole computation (exit 2), and so that no two of them can ever be the same file.
#include <filesystem>

namespace tally::io {

/// Throws a usage Error (exit 2) when `output`, `checkpoint`, `checkpoint.prev` or the
/// run lock's `output.lock`, `checkpoint.lock` and `checkpoint.prev.lock`:
/// - name the same file (same path, `./path`, a hard link or a symlink to another);
/// - are a symlink (dangling or not) — refused, not followed: the atomic rename would
///   replace the link by a file and leave its target stale;
/// - exist and are not regular files (device node, fifo, directory), even with --force;
/// - `output` exists without `force`;
/// - lie in a directory that is missing or not writable;
/// - are too long to be written: a temp name (io::longest_temp_name, about 40 bytes
///   more than the name) or a lock name over the directory's NAME_MAX, or over PATH_MAX.
void check_run_paths(const std::filesystem::path& output, const std::filesystem::path& checkpoint, bool force);

}  // namespace tally::io
