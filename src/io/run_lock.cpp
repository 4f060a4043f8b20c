#include "io/run_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <utility>

#include <fmt/core.h>

#include "core/error.hpp"

namespace tally::io {

namespace fs = std::filesystem;

namespace {

/// "pid P on host H", as the holder wrote it; empty while it has not yet.
std::string holder_of(int fd) {
  char text[512] = {};
  const ssize_t n = ::pread(fd, text, sizeof text - 1, 0);
  std::string holder(text, n > 0 ? std::size_t(n) : 0);
  while (!holder.empty() && (holder.back() == '\n' || holder.back() == '\0')) holder.pop_back();
  return holder;
}

std::string this_holder() {
  char host[HOST_NAME_MAX + 1] = {};
  if (::gethostname(host, sizeof host - 1) != 0) std::strcpy(host, "?");
  return fmt::format("pid {} on host {}", ::getpid(), host);
}

bool no_flock_here(int error) { return error == ENOLCK || error == EOPNOTSUPP || error == ENOSYS || error == EINVAL; }

/// Locks `path`; -1 when the file system cannot lock and the policy allows running unlocked.
int lock_one(const fs::path& file, const fs::path& path, FileLocking policy) {
  // A holder that finishes removes its lock file while holding it; whoever opened that
  // file before it was removed then locks a file no longer in the directory, sees so
  // below, and tries again on the new one. A few rounds always suffice in practice.
  for (int round = 0; round < 100; ++round) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
      throw Error(ExitCode::kFailure, fmt::format("cannot create lock file {}: {}", path.string(), std::strerror(errno)));
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int error = errno;
      if (error == EWOULDBLOCK) {
        std::string holder = holder_of(fd);
        ::close(fd);
        throw usage_error(fmt::format("{} is in use by another tally run ({}, lock file {}); wait for it to end or "
                                      "choose another --output/--checkpoint",
                                      file.string(), holder.empty() ? "which is starting" : holder, path.string()));
      }
      ::close(fd);
      if (no_flock_here(error) && policy == FileLocking::kBestEffort) return -1;
      throw Error(ExitCode::kFailure, fmt::format("cannot lock {}: {}{}", path.string(), std::strerror(error),
                                                  no_flock_here(error) ? " (use --file-locking best-effort or off)" : ""));
    }
    struct stat opened {}, named {};
    if (::fstat(fd, &opened) == 0 && ::stat(path.c_str(), &named) == 0 && opened.st_dev == named.st_dev &&
        opened.st_ino == named.st_ino) {
      const std::string holder = this_holder() + "\n";
      if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, holder.data(), holder.size(), 0) != ssize_t(holder.size())) {
        // Only the holder's name is missing; the lock itself holds.
      }
      return fd;
    }
    ::close(fd);  // removed or replaced by its finishing holder: lock the current one
  }
  throw Error(ExitCode::kFailure, "cannot lock " + path.string() + ": it keeps being replaced");
}

}  // namespace

fs::path RunLock::lock_path(const fs::path& file) {
  fs::path p = file;
  p += kSuffix;
  return p;
}

RunLock::RunLock(const std::vector<fs::path>& files, FileLocking policy) {
  if (policy == FileLocking::kOff) return;
  try {
    for (const auto& file : files) {
      const fs::path path = lock_path(file);
      const int fd = lock_one(file, path, policy);
      if (fd >= 0) held_.push_back({path, fd});
    }
  } catch (...) {
    release();
    throw;
  }
}

RunLock::RunLock(RunLock&& other) noexcept : held_(std::exchange(other.held_, {})) {}

RunLock& RunLock::operator=(RunLock&& other) noexcept {
  if (this != &other) {
    release();
    held_ = std::exchange(other.held_, {});
  }
  return *this;
}

RunLock::~RunLock() { release(); }

std::vector<fs::path> RunLock::held() const {
  std::vector<fs::path> out;
  for (const auto& h : held_) out.push_back(h.path);
  return out;
}

void RunLock::release() noexcept {
  for (auto it = held_.rbegin(); it != held_.rend(); ++it) {
    ::unlink(it->path.c_str());  // while still locked: nobody can have locked this file meanwhile
    ::close(it->fd);
  }
  held_.clear();
}

}  // namespace tally::io
