#include "io/busy_file.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/core.h>

#include "io/seal.hpp"

namespace tally::io {

namespace {
/// True when the HDF5 superblock — at the start of a results file, after the seal's user
/// block in a checkpoint — carries the "open for writing" or "SWMR writing" consistency
/// flag that HDF5 sets in the file while a program has it open to write.
bool marked_open_for_writing(int fd) {
  static constexpr unsigned char kSignature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
  for (const off_t at : {off_t(0), off_t(kSealBytes)}) {
    unsigned char block[24] = {};
    if (::pread(fd, block, sizeof block, at) != ssize_t(sizeof block)) return false;
    if (std::memcmp(block, kSignature, sizeof kSignature) != 0) continue;
    // Superblock versions 0 and 1 keep 4 bytes of flags at offset 20, versions 2 and 3 one byte at 11.
    const unsigned flags = block[8] <= 1 ? block[20] : block[11];
    return (flags & (0x1 | 0x4)) != 0;
  }
  return false;
}
}  // namespace

std::string busy_problem(const std::filesystem::path& path, std::string_view what) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return {};
  const bool locked = ::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  const bool marked = !locked && marked_open_for_writing(fd);
  ::close(fd);  // also drops our shared lock
  if (locked)
    return fmt::format("{} {} is open in another program, which holds a lock on it (h5py with mode \"r+\" "
                       "or \"a\", or a tool that is changing it); close that program and run the same command "
                       "again: the file is kept as it is",
                       what, path.string());
  if (marked)
    return fmt::format("{} {} is marked by HDF5 as open for writing in another program (h5py with mode "
                       "\"r+\" or \"a\"); close that program and run the same command again (if it was killed "
                       "instead, `h5clear -s {}` clears the mark): the file is kept as it is",
                       what, path.string(), path.string());
  return {};
}

}  // namespace tally::io
