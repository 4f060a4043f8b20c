#include "io/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.hpp"

namespace tally::io {

namespace fs = std::filesystem;

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
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::string temp_name = ".";
  temp_name.append(target.filename().string()).append(".tmp.").append(std::to_string(::getpid()));
  const fs::path temp = dir / temp_name;
  std::error_code ignored;
  fs::remove(temp, ignored);  // a leftover from a killed process with our pid
  try {
    write(temp);
    sync_path(temp);
    if (replace) {
      if (::rename(temp.c_str(), target.c_str()) != 0)
        throw Error(ExitCode::kFailure, "cannot rename into " + target.string() + ": " + std::strerror(errno));
    } else {
      // link() refuses to replace: an existing file is never clobbered, even in a race.
      if (::link(temp.c_str(), target.c_str()) != 0) {
        if (errno == EEXIST) throw usage_error(target.string() + " exists; use --force to overwrite it");
        throw Error(ExitCode::kFailure, "cannot create " + target.string() + ": " + std::strerror(errno));
      }
      fs::remove(temp, ignored);
    }
    sync_path(dir);
  } catch (...) {
    fs::remove(temp, ignored);
    throw;
  }
}

}  // namespace tally::io
