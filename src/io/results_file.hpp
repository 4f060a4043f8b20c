#pragma once
// The HDF5 results file (schema: docs/file-format.md), written atomically by rank 0.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "io/file_locking.hpp"
#include "io/run_record.hpp"

namespace tally::io {

/// Writes `record` to `path` atomically (temp file beside it, fsync, rename, fsync dir).
/// An existing file is a usage Error unless `force`; nothing on disk is half-written.
void write_results(const std::filesystem::path& path, const RunRecord& record, bool force, FileLocking locking);

/// The derived values a file stores beside its ledger, as written (for `tally verify`,
/// which holds them against values recomputed from the ledger).
struct StoredTotals {
  std::string filetype;
  std::int64_t format_version = 0;
  std::vector<core::i128> task_sums, task_tails;
  std::vector<std::int64_t> task_counts;
  core::i128 total = 0;
  std::int64_t total_count = 0;
  std::string digest;  ///< empty when the file has none (results files)
};

/// Why a file could not be read: callers decide by kind, never by the message's text.
enum class ReadProblem {
  kNotAFile,  ///< missing, a directory, or not a regular file (exit 2)
  kNotHdf5,   ///< neither HDF5 nor a sealed checkpoint (exit 2)
  kSeal,      ///< a checkpoint whose seal is missing, torn or wrong; never parsed (exit 3)
  kDigest,    ///< a checkpoint whose values do not match its stored digest (exit 3)
  kContent,   ///< parsed, but not a valid tally file; the first problem is named (exit 2)
  kBusy,      ///< open for writing in another program: neither judged nor parsed (exit 2)
};

class ReadError : public Error {
 public:
  ReadError(ReadProblem problem, const std::string& message)
      : Error(problem == ReadProblem::kSeal || problem == ReadProblem::kDigest ? ExitCode::kCheckpoint
                                                                               : ExitCode::kUsage,
              message),
        problem_(problem) {}
  [[nodiscard]] ReadProblem problem() const noexcept { return problem_; }

 private:
  ReadProblem problem_;
};

/// A results file or checkpoint as read for `tally inspect` and `tally verify`.
struct TallyFile {
  RunRecord record;
  StoredTotals stored;
  bool sealed = false;         ///< it had a tally seal, and the seal matched
  std::string digest_problem;  ///< checkpoints: empty when the stored digest matches the values
};

/// Reads any tally file. A file that starts with a user block must carry a matching
/// tally seal, checked before libhdf5 parses a byte of it (a damaged checkpoint never
/// reaches the parser); every dataset's bytes must really be in the file before memory
/// is allocated for it. Throws a ReadError.
[[nodiscard]] TallyFile read_tally_file(const std::filesystem::path& path, FileLocking locking);

/// Reads a results file or a checkpoint back (for inspect): a checkpoint must also be
/// sealed and match its digest, else a ReadError (exit 3) says so — its values are
/// never shown as if they were good.
[[nodiscard]] RunRecord read_results(const std::filesystem::path& path, FileLocking locking);

}  // namespace tally::io
