#pragma once
// The HDF5 results file (schema: docs/file-format.md), written atomically by rank 0.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "io/file_locking.hpp"
#include "io/run_record.hpp"

namespace tally::io {

/// Writes `record` to `path` atomically (temp file beside it, fsync, rename, fsync dir).
/// An existing file is a usage Error unless `force`; nothing on disk is half-written.
void write_results(const std::filesystem::path& path, const RunRecord& record, bool force, FileLocking locking);

/// Fails early (usage Error, exit 2) if `path` could not be written: existing without
/// `force`, or its directory missing or not writable. Called before any work starts.
void check_results_path(const std::filesystem::path& path, bool force);

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
[[nodiscard]] StoredTotals read_stored_totals(const std::filesystem::path& path, FileLocking locking);

/// Reads a results file or a checkpoint back (for inspect and verify).
[[nodiscard]] RunRecord read_results(const std::filesystem::path& path, FileLocking locking);

}  // namespace tally::io
