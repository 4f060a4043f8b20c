#include "io/output_paths.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <optional>
#include <string>

#include <fmt/core.h>

#include "core/error.hpp"
#include "io/atomic_file.hpp"
#include "io/run_lock.hpp"

namespace tally::io {

namespace fs = std::filesystem;

namespace {

fs::path directory_of(const fs::path& path) { return path.has_parent_path() ? path.parent_path() : fs::path("."); }

/// The writable directory a file will be created in, or a usage Error naming `what`.
void check_directory(const fs::path& path, const char* what) {
  const fs::path dir = directory_of(path);
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw usage_error(std::string(what) + " directory " + dir.string() + " does not exist");
  if (::access(dir.c_str(), W_OK | X_OK) != 0)
    throw usage_error(std::string(what) + " directory " + dir.string() + " is not writable");
}

/// Refuses symlinks and anything that exists but is not a regular file.
/// Returns the file's stat when it exists.
std::optional<struct stat> check_kind(const fs::path& path, const char* what) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return std::nullopt;
  if (S_ISLNK(st.st_mode))
    throw usage_error(std::string(what) + " " + path.string() +
                      " is a symbolic link; tally refuses to replace links, name the target file instead");
  if (S_ISDIR(st.st_mode)) throw usage_error(std::string(what) + " " + path.string() + " is a directory; it must name a file");
  if (!S_ISREG(st.st_mode))
    throw usage_error(std::string(what) + " " + path.string() + " is not a regular file (device, fifo or socket); refused even with --force");
  return st;
}

/// Refuses a name that the run could not write in full: its temp names (the longest
/// names it takes, io/atomic_file.hpp) and its lock file must fit the directory's
/// NAME_MAX, and the path of each PATH_MAX. Found at the end of a long run, a name too
/// long costs the whole computation; found here, seconds.
void check_name_length(const fs::path& path, const char* what) {
  const fs::path dir = directory_of(path);
  const long name_max = ::pathconf(dir.c_str(), _PC_NAME_MAX);
  const long path_max = ::pathconf(dir.c_str(), _PC_PATH_MAX);
  const std::size_t longest =
      std::max(longest_temp_name(path), RunLock::lock_path(path).filename().string().size());
  const std::size_t allowed = name_max > 0 ? std::size_t(name_max) : 255;
  if (longest > allowed)
    throw usage_error(fmt::format("{} name {} is too long: the run writes it under a temporary name of {} bytes, and "
                                  "its directory allows {}; shorten it by {} bytes",
                                  what, path.filename().string(), longest, allowed, longest - allowed));
  const std::size_t full = (dir / std::string(longest, 'x')).string().size() + 1;  // + the NUL
  const std::size_t allowed_path = path_max > 0 ? std::size_t(path_max) : 4096;
  if (full > allowed_path)
    throw usage_error(fmt::format("{} path {} is too long: with its temporary name it takes {} bytes, more than the "
                                  "{} a path may have; use a shorter path",
                                  what, path.string(), full, allowed_path));
}

/// Refuses a name in the run lock's name space (io/run_lock.hpp): a file written there
/// replaces another run's lock, so both runs could write one file, and is deleted when
/// that run releases its lock. Checked by name, whether or not a run holds it now.
void check_not_lock_name(const fs::path& path, const char* what) {
  if (path.filename().string().ends_with(RunLock::kSuffix))
    throw usage_error(fmt::format("{} {} ends in {}, the name of a run's lock file; refused even with --force, "
                                  "choose another name",
                                  what, path.string(), RunLock::kSuffix));
}

/// Lexical identity: the real path of the directory plus the file name.
fs::path identity(const fs::path& path) {
  std::error_code ec;
  fs::path dir = fs::canonical(directory_of(path), ec);
  if (ec) dir = fs::absolute(directory_of(path), ec).lexically_normal();
  return dir / path.filename();
}

}  // namespace

void check_run_paths(const fs::path& output, const fs::path& checkpoint, bool force) {
  fs::path previous = checkpoint;
  previous += ".prev";
  // The run lock's files too: a results file written over a lock file would be deleted
  // when the lock is released (io/run_lock.hpp).
  const fs::path output_lock = RunLock::lock_path(output);
  const fs::path checkpoint_lock = RunLock::lock_path(checkpoint);
  const fs::path previous_lock = RunLock::lock_path(previous);
  struct Entry {
    const fs::path& path;
    const char* what;
    std::optional<struct stat> st;
  };
  std::array<Entry, 6> entries{{{output, "output", std::nullopt},
                                {checkpoint, "checkpoint", std::nullopt},
                                {previous, "previous checkpoint", std::nullopt},
                                {output_lock, "output's lock file", std::nullopt},
                                {checkpoint_lock, "checkpoint's lock file", std::nullopt},
                                {previous_lock, "previous checkpoint's lock file", std::nullopt}}};
  check_directory(output, "output");
  check_directory(checkpoint, "checkpoint");
  check_not_lock_name(output, "output");
  check_not_lock_name(checkpoint, "checkpoint");
  check_name_length(output, "output");
  check_name_length(checkpoint, "checkpoint");
  check_name_length(previous, "previous checkpoint (the checkpoint's name + .prev)");
  for (auto& e : entries) e.st = check_kind(e.path, e.what);
  for (std::size_t i = 0; i < entries.size(); ++i)
    for (std::size_t j = i + 1; j < entries.size(); ++j) {
      const auto& a = entries[i];
      const auto& b = entries[j];
      const bool same_name = identity(a.path) == identity(b.path);
      // The checkpoint and its previous generation are two names of one file after a
      // rotation killed between its link and its rename (io/atomic_file.hpp): valid.
      const bool rotation_pair = &a.path == &checkpoint && &b.path == &previous;
      const bool same_inode = !rotation_pair && a.st && b.st && a.st->st_dev == b.st->st_dev &&
                              a.st->st_ino == b.st->st_ino;
      if (same_name || same_inode)
        throw usage_error(std::string(a.what) + " " + a.path.string() + " and " + b.what + " " + b.path.string() +
                          " are the same file; give them different paths");
    }
  if (entries[0].st && !force) throw usage_error(output.string() + " exists; use --force to overwrite it");
}

}  // namespace tally::io
