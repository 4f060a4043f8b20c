#include "io/checkpoint.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/core.h>

#include "core/error.hpp"
#include "io/atomic_file.hpp"
#include "io/digest.hpp"
#include "io/hdf5.hpp"
#include "io/record_layout.hpp"
#include "io/seal.hpp"

namespace tally::io {

namespace fs = std::filesystem;

namespace {
/// True when the HDF5 superblock (after the seal's user block) carries the "open for
/// writing" or "SWMR writing" consistency flag that HDF5 sets in the file itself while a
/// program has it open to write (h5py "r+"/"a"), even without file locking.
bool marked_open_for_writing(int fd) {
  unsigned char block[24] = {};
  if (::pread(fd, block, sizeof block, off_t(kSealBytes)) != ssize_t(sizeof block)) return false;
  static constexpr unsigned char kSignature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
  if (std::memcmp(block, kSignature, sizeof kSignature) != 0) return false;
  // Superblock versions 0 and 1 keep 4 bytes of flags at offset 20, versions 2 and 3 one byte at 11.
  const unsigned flags = block[8] <= 1 ? block[20] : block[11];
  return (flags & (0x1 | 0x4)) != 0;
}

/// Non-empty when another program has `path` open for writing: it holds an exclusive
/// flock (HDF5's file locking does so for h5py's mode "r+" or "a", as does any tool
/// that locks a file it changes), or HDF5 has marked the file open for writing. Such a
/// file is busy, not damaged: its bytes may be changing under us, so neither its digest
/// nor a fallback to the previous generation may be judged now.
std::string busy_problem(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return {};
  const bool locked = ::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  const bool marked = !locked && marked_open_for_writing(fd);
  ::close(fd);  // also drops our shared lock
  if (locked)
    return fmt::format("checkpoint {} is open in another program, which holds a lock on it (h5py with mode \"r+\" "
                       "or \"a\", or a tool that is changing it); close that program and run the same command "
                       "again: the checkpoint is kept as it is",
                       path.string());
  if (marked)
    return fmt::format("checkpoint {} is marked by HDF5 as open for writing in another program (h5py with mode "
                       "\"r+\" or \"a\"); close that program and run the same command again (if it was killed "
                       "instead, `h5clear -s {}` clears the mark): the checkpoint is kept as it is",
                       path.string(), path.string());
  return {};
}

/// Reads and verifies one generation; throws a checkpoint Error saying what is wrong.
RunRecord read_verified(const fs::path& path, FileLocking locking, const core::Config& expected) {
  std::error_code ec;
  if (fs::file_size(path, ec) == 0 || ec) throw Error(ExitCode::kCheckpoint, "it is empty or unreadable");
  // The seal first: damaged bytes never reach the HDF5 parser.
  if (const auto problem = seal_problem(path); !problem.empty()) throw Error(ExitCode::kCheckpoint, problem);
  const auto file = h5::open_file(path.string(), locking);
  if (!file) throw Error(ExitCode::kCheckpoint, "it is not a readable HDF5 file (torn or overwritten?)");
  // A foreign configuration is the user's mistake, not damage: say so, field by field.
  core::Config stored;
  try {
    stored = read_config(*file);
  } catch (const Error& e) {
    throw Error(ExitCode::kCheckpoint, e.what());
  }
  if (const auto fields = core::differing_fields(stored, expected); !fields.empty()) {
    std::string list;
    for (const auto& f : fields) list += (list.empty() ? "" : ", ") + f;
    throw Error(ExitCode::kUsage, fmt::format("checkpoint {} belongs to another configuration: {} differ "
                                              "(checkpoint vs this run); use the same settings, another "
                                              "--checkpoint, or remove it",
                                              path.string(), list));
  }
  std::string filetype;
  RunRecord record = read_record(*file, filetype);
  if (filetype != kCheckpointFiletype) throw Error(ExitCode::kCheckpoint, "it is a results file, not a checkpoint");
  if (!h5::has_attribute(*file, "digest")) throw Error(ExitCode::kCheckpoint, "it has no digest");
  if (h5::read_string_attribute(*file, "digest") != record_digest(record))
    throw Error(ExitCode::kCheckpoint, "its digest does not match its contents");
  return record;
}
}  // namespace

CheckpointStore::CheckpointStore(fs::path path, FileLocking locking) : path_(std::move(path)), locking_(locking) {}

fs::path CheckpointStore::previous_path() const {
  auto p = path_;
  p += ".prev";
  return p;
}

bool CheckpointStore::exists() const {
  std::error_code ec;
  return fs::exists(path_, ec) || fs::exists(previous_path(), ec);
}

void CheckpointStore::save(const RunRecord& record) const {
  // The new generation is written and synced first; only then does the current file
  // become the previous one (a second link, so there is never a moment without it) and
  // the new one replace it. A failure while writing (disk full) leaves both as they were.
  // A newest file load() could not use is replaced instead of kept, so a good previous
  // generation is never pushed out by it.
  try {
    write_rotating(path_, previous_path(), current_is_good_, [&](const fs::path& temp) {
      h5::Id file = h5::create_file(temp.string(), locking_, kSealBytes);
      write_record(file, record, kCheckpointFiletype);
      h5::write_attribute(file, "digest", record_digest(record, kFormatVersion));
      h5::flush(file);
      h5::close_file(file);  // checked, and before the seal: the seal covers the final bytes
      write_seal(temp);
    });
  } catch (const Error& e) {
    throw Error(e.code(), "cannot write checkpoint " + path_.string() + ": " + e.what());
  }
  current_is_good_ = true;
}

std::optional<CheckpointStore::Loaded> CheckpointStore::load(const core::Config& expected) const {
  std::error_code ec;
  const bool have_newest = fs::exists(path_, ec);
  const bool have_previous = fs::exists(previous_path(), ec);
  if (!have_newest && !have_previous) {
    current_is_good_ = true;
    return std::nullopt;
  }
  // Before judging either generation: a busy one is neither corrupt nor a reason to fall
  // back (the fallback would drop the newest progress). Exit 2, like a run lock held.
  for (const auto& generation : {path_, previous_path()})
    if (const auto busy = busy_problem(generation); !busy.empty()) throw usage_error(busy);
  std::string newest_problem = "it is missing";
  if (have_newest) {
    try {
      Loaded loaded{read_verified(path_, locking_, expected), path_, {}};
      current_is_good_ = true;
      return loaded;
    } catch (const Error& e) {
      if (e.code() == ExitCode::kUsage) throw Error(ExitCode::kCheckpoint, e.what());
      newest_problem = e.what();
    }
  }
  current_is_good_ = false;
  std::string previous_problem = "it is missing";
  if (have_previous) {
    try {
      Loaded loaded{read_verified(previous_path(), locking_, expected), previous_path(), {}};
      loaded.warnings.push_back(fmt::format("newest checkpoint {} is unusable ({}); using the previous one",
                                            path_.string(), newest_problem));
      return loaded;
    } catch (const Error& e) {
      if (e.code() == ExitCode::kUsage) throw Error(ExitCode::kCheckpoint, e.what());
      previous_problem = e.what();
    }
  }
  throw Error(ExitCode::kCheckpoint,
              fmt::format("no usable checkpoint: {} ({}); {} ({}). Remove them to start over",
                          path_.string(), newest_problem, previous_path().string(), previous_problem));
}

void CheckpointStore::remove() const {
  std::error_code ec;
  fs::remove(path_, ec);
  fs::remove(previous_path(), ec);
}

}  // namespace tally::io
