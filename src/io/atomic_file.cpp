#include "io/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <random>

#include <fmt/core.h>

#include "core/error.hpp"
#include "io/test_hold.hpp"

namespace tally::io {

namespace fs = std::filesystem;

namespace {

fs::path directory_of(const fs::path& path) { return path.has_parent_path() ? path.parent_path() : fs::path("."); }

/// This host's name, reduced to characters safe in a file name and at most 64 of them.
std::string host_for_names() {
  char buffer[HOST_NAME_MAX + 1] = {};
  if (::gethostname(buffer, sizeof buffer - 1) != 0) return "host";
  std::string out;
  for (const char* c = buffer; *c != '\0' && out.size() < 64; ++c) {
    const bool safe = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '-' ||
                      *c == '.' || *c == '_';
    out.push_back(safe ? *c : '_');
  }
  return out.empty() ? "host" : out;
}

[[noreturn]] void fail(const std::string& what) { throw Error(ExitCode::kFailure, what + ": " + std::strerror(errno)); }

/// Makes `previous` a second name of `target` (the file it is now), atomically.
void keep_as_previous(const fs::path& target, const fs::path& previous) {
  const fs::path link_temp = temp_path_for(previous);
  if (::link(target.c_str(), link_temp.c_str()) == 0) {
    const int rc = ::rename(link_temp.c_str(), previous.c_str());
    const int saved = errno;
    // rename() of one name of a file onto another name of the same file succeeds and
    // does nothing (POSIX): after a rotation killed between steps 2 and 3, `previous`
    // already is `target`, and the link temp would stay. Ours alone, so always remove it.
    ::unlink(link_temp.c_str());
    errno = saved;
    if (rc != 0) fail("cannot keep " + target.string() + " as " + previous.string());
    return;
  }
  if (errno != EPERM && errno != EOPNOTSUPP && errno != ENOSYS && errno != EMLINK)
    fail("cannot link " + target.string() + " to keep it as the previous generation");
  // No hard links here: move it. Until the new file is renamed in, `previous` is the
  // newest good generation (the loader falls back to it).
  if (::rename(target.c_str(), previous.c_str()) != 0) fail("cannot keep " + target.string() + " as " + previous.string());
}

}  // namespace

fs::path temp_path_for(const fs::path& target) {
  static const std::string host = host_for_names();
  static std::mt19937_64 random{(std::uint64_t(std::random_device{}()) << 32) ^ std::random_device{}()};
  const std::string name =
      fmt::format(".{}.tmp.{}.{}.{:016x}", target.filename().string(), host, ::getpid(), random());
  return directory_of(target) / name;
}

std::size_t longest_temp_name(const fs::path& target) {
  // Linux pids stay below PID_MAX_LIMIT (2^22 = 4194304): at most 7 digits, whatever the
  // pid of a later start; the random part is always 16 hex digits.
  constexpr std::size_t kPidDigits = 7;
  return fmt::format(".{}.tmp.{}.", target.filename().string(), host_for_names()).size() + kPidDigits + 1 + 16;
}

std::size_t remove_stale_temps(const fs::path& target) {
  std::string prefix = ".";
  prefix.append(target.filename().string()).append(".tmp.");
  std::size_t removed = 0;
  std::error_code ec;
  for (fs::directory_iterator it(directory_of(target), ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    std::error_code ignored;
    if (name.rfind(prefix, 0) == 0 && it->is_regular_file(ignored) && fs::remove(it->path(), ignored)) ++removed;
  }
  return removed;
}

void sync_path(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(ExitCode::kFailure, "cannot open " + path.string() + " to sync: " + std::strerror(errno));
  const int rc = ::fsync(fd);
  const int saved = errno;
  ::close(fd);
  if (rc != 0 && saved != EINVAL)  // EINVAL: the file system does not sync directories
    throw Error(ExitCode::kFailure, "cannot sync " + path.string() + ": " + std::strerror(saved));
}

void write_atomically(const fs::path& target, bool replace, const std::function<void(const fs::path&)>& write) {
  const fs::path temp = temp_path_for(target);
  std::error_code ignored;
  try {
    write(temp);
    sync_path(temp);
    if (replace) {
      if (::rename(temp.c_str(), target.c_str()) != 0) fail("cannot rename into " + target.string());
    } else {
      // link() refuses to replace: an existing file is never clobbered, even in a race.
      if (::link(temp.c_str(), target.c_str()) != 0) {
        if (errno == EEXIST) throw usage_error(target.string() + " exists; use --force to overwrite it");
        fail("cannot create " + target.string());
      }
      fs::remove(temp, ignored);
    }
    sync_path(directory_of(target));
  } catch (...) {
    fs::remove(temp, ignored);
    throw;
  }
}

void write_rotating(const fs::path& target, const fs::path& previous, bool keep,
                    const std::function<void(const fs::path&)>& write) {
  const fs::path temp = temp_path_for(target);
  std::error_code ignored;
  try {
    write(temp);
    sync_path(temp);  // the new generation is complete on disk before anything moves
    if (keep && fs::exists(target, ignored)) {
      keep_as_previous(target, previous);
      test_hold("rotation-link");  // `previous` and `target` now one file; the new one not yet in
    }
    if (::rename(temp.c_str(), target.c_str()) != 0) fail("cannot rename into " + target.string());
    sync_path(directory_of(target));
  } catch (...) {
    fs::remove(temp, ignored);
    throw;
  }
}

}  // namespace tally::io
