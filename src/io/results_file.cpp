#include "io/results_file.hpp"

#include <cstring>
#include <fstream>

#include "core/error.hpp"
#include "io/atomic_file.hpp"
#include "io/busy_file.hpp"
#include "io/digest.hpp"
#include "io/hdf5.hpp"
#include "io/record_layout.hpp"
#include "io/seal.hpp"

namespace tally::io {

namespace fs = std::filesystem;

void write_results(const fs::path& path, const RunRecord& record, bool force, FileLocking locking) {
  try {
    write_atomically(path, force, [&](const fs::path& temp) {
      h5::Id file = h5::create_file(temp.string(), locking);
      write_record(file, record, kResultsFiletype);
      h5::flush(file);
      h5::close_file(file);  // checked: a failed close must not be renamed into place
    });
  } catch (const Error& e) {
    if (e.code() != ExitCode::kFailure) throw;
    throw Error(ExitCode::kFailure, "cannot write results file " + path.string() + ": " + e.what());
  }
}

namespace {
constexpr char kHdf5Signature[] = "\x89HDF\r\n\x1a\n";  // 8 bytes; HDF5 looks at 0, 512, 1024, …

bool hdf5_signature_at(std::ifstream& in, std::uint64_t offset) {
  char bytes[8] = {};
  in.clear();
  in.seekg(std::streamoff(offset));
  in.read(bytes, sizeof bytes);
  return in.gcount() == 8 && std::memcmp(bytes, kHdf5Signature, 8) == 0;
}

/// Decides from the raw bytes whether libhdf5 may parse the file. True: sealed, seal
/// matches. False: plain HDF5 with no user block (results files). Throws a ReadError
/// for a file with a damaged or missing seal in its user block, and for non-HDF5 files.
bool check_seal_before_parsing(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ReadError(ReadProblem::kNotAFile, path.string() + " cannot be opened");
  if (hdf5_signature_at(in, 0)) return false;
  const std::string magic = kSealMagic;
  std::string head(magic.size(), '\0');
  in.clear();
  in.seekg(0);
  in.read(head.data(), std::streamsize(head.size()));
  if (in.gcount() == std::streamsize(head.size()) && head == magic) {
    if (const auto problem = seal_problem(path); !problem.empty())
      throw ReadError(ReadProblem::kSeal, path.string() + " is a checkpoint that fails its seal: " + problem +
                                              "; it is not parsed");
    return true;
  }
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  for (std::uint64_t at = kSealBytes; !ec && at + 8 <= size && at <= (std::uint64_t{1} << 40); at *= 2)
    if (hdf5_signature_at(in, at))
      throw ReadError(ReadProblem::kSeal, path.string() + " has a user block but no tally seal (a checkpoint whose "
                                                          "first block is damaged?); it is not parsed");
  throw ReadError(ReadProblem::kNotHdf5, path.string() + " is not an HDF5 file");
}

StoredTotals read_stored_totals(const h5::Id& file, const std::string& filetype, std::int64_t version,
                                std::uint64_t tasks) {
  StoredTotals out;
  out.filetype = filetype;
  out.format_version = version;
  out.task_sums = read_sums(file, "tasks/sum", tasks, version);
  out.task_counts = h5::read_int64s(file, "tasks/count", tasks);
  out.task_tails = read_sums(file, "tasks/tail", tasks, version);
  out.total = read_sums(file, "total/sum", 1, version).front();
  out.total_count = h5::read_int64s(file, "total/count", 1).front();
  if (h5::has_attribute(file, "digest")) out.digest = h5::read_string_attribute(file, "digest");
  return out;
}
}  // namespace

TallyFile read_tally_file(const fs::path& path, FileLocking locking) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec))
    throw ReadError(ReadProblem::kNotAFile, path.string() + " does not exist or is not a file");
  // Bytes that another program may be changing are not judged: a good file held open is
  // busy, never corrupt (issue 19, defect 13).
  if (auto busy = busy_problem(path, "file"); !busy.empty()) throw ReadError(ReadProblem::kBusy, std::move(busy));
  const bool sealed = check_seal_before_parsing(path);
  const auto file = h5::open_file(path.string(), locking);
  if (!file) throw ReadError(ReadProblem::kNotHdf5, path.string() + " is not an HDF5 file");
  try {
    std::string filetype;
    RunRecord record = read_record(*file, filetype);
    StoredTotals stored =
        read_stored_totals(*file, filetype, record.format_version, std::uint64_t(record.ledger.config().tasks));
    TallyFile out{std::move(record), std::move(stored), sealed, {}};
    if (filetype == kCheckpointFiletype) {
      const auto digest = record_digest(out.record);
      if (out.stored.digest.empty()) out.digest_problem = "it has no digest";
      else if (out.stored.digest != digest)
        out.digest_problem = "its digest " + out.stored.digest + " does not match its values (they hash to " + digest + ")";
    }
    return out;
  } catch (const ReadError&) {
    throw;
  } catch (const Error& e) {
    throw ReadError(ReadProblem::kContent, path.string() + " is not a valid tally file: " + e.what());
  }
}

RunRecord read_results(const fs::path& path, FileLocking locking) {
  TallyFile f = read_tally_file(path, locking);
  if (f.stored.filetype == kCheckpointFiletype) {
    // Resume refuses such a checkpoint; showing its values as if good would mislead.
    if (!f.sealed)
      throw ReadError(ReadProblem::kSeal, path.string() + " is a checkpoint without a tally seal; its values are not "
                                                          "shown (tally verify says more)");
    if (!f.digest_problem.empty())
      throw ReadError(ReadProblem::kDigest, path.string() + " is a checkpoint that fails its digest: " +
                                                f.digest_problem + "; its values are not shown (tally verify says more)");
  }
  return std::move(f.record);
}

}  // namespace tally::io
