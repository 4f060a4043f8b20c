#include "io/checkpoint.hpp"

#include <fmt/core.h>

#include "core/error.hpp"
#include "io/atomic_file.hpp"
#include "io/busy_file.hpp"
#include "io/digest.hpp"
#include "io/hdf5.hpp"
#include "io/record_layout.hpp"
#include "io/seal.hpp"

namespace tally::io {

namespace fs = std::filesystem;

namespace {
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
    if (const auto busy = busy_problem(generation, "checkpoint"); !busy.empty()) throw usage_error(busy);
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
