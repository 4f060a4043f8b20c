#pragma once
// The HDF5 layout shared by results files and checkpoints (docs/file-format.md):
// writing a RunRecord into an open file and reading one back, checking every value.
#include <string>

#include "io/hdf5.hpp"
#include "io/run_record.hpp"

namespace tally::io {

inline constexpr const char* kResultsFiletype = "tally-results";
inline constexpr const char* kCheckpointFiletype = "tally-checkpoint";
/// Written: 2 (128-bit sums, hosts, restart history, lost ranks, provenance). Read: 1 and 2.
inline constexpr std::int64_t kFormatVersion = 2;

/// Writes attributes and datasets of `record` into `file` (derived sums included).
void write_record(const h5::Id& file, const RunRecord& record, const char* filetype);

/// The configuration stored in `file`; throws a checkpoint Error (3) if absent,
/// malformed, invalid, or if its fingerprint does not match its fields.
[[nodiscard]] core::Config read_config(const h5::Id& file);

/// The file's format_version: 1 or 2, else a checkpoint Error.
[[nodiscard]] std::int64_t read_format_version(const h5::Id& file);
/// Sums stored as int64 (format 1) or int128 (format 2).
[[nodiscard]] std::vector<core::i128> read_sums(const h5::Id& file, const char* path, std::uint64_t expected,
                                               std::int64_t version);

/// Reads a whole record back; tails are recomputed from the ledger, never trusted.
/// Throws a checkpoint Error (3) naming the first problem.
[[nodiscard]] RunRecord read_record(const h5::Id& file, std::string& filetype);

}  // namespace tally::io
