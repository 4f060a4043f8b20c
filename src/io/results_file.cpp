#include "io/results_file.hpp"

#include <unistd.h>

#include "core/error.hpp"
#include "io/atomic_file.hpp"
#include "io/hdf5.hpp"
#include "io/record_layout.hpp"

namespace tally::io {

namespace fs = std::filesystem;

void check_results_path(const fs::path& path, bool force) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) throw usage_error(path.string() + " is a directory; --output must name a file");
  if (fs::exists(path, ec) && !force) throw usage_error(path.string() + " exists; use --force to overwrite it");
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  if (!fs::is_directory(dir, ec)) throw usage_error("output directory " + dir.string() + " does not exist");
  if (::access(dir.c_str(), W_OK | X_OK) != 0)
    throw usage_error("output directory " + dir.string() + " is not writable");
}

void write_results(const fs::path& path, const RunRecord& record, bool force, FileLocking locking) {
  write_atomically(path, force, [&](const fs::path& temp) {
    const h5::Id file = h5::create_file(temp.string(), locking);
    write_record(file, record, kResultsFiletype);
    h5::flush(file);
  });
}

RunRecord read_results(const fs::path& path, FileLocking locking) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) throw usage_error(path.string() + " does not exist or is not a file");
  const auto file = h5::open_file(path.string(), locking);
  if (!file) throw usage_error(path.string() + " is not an HDF5 file");
  std::string filetype;
  try {
    return read_record(*file, filetype);
  } catch (const Error& e) {
    throw usage_error(path.string() + " is not a valid tally file: " + e.what());
  }
}

StoredTotals read_stored_totals(const fs::path& path, FileLocking locking) {
  const auto file = h5::open_file(path.string(), locking);
  if (!file) throw usage_error(path.string() + " is not an HDF5 file");
  try {
    StoredTotals out;
    out.filetype = h5::read_string_attribute(*file, "filetype");
    out.format_version = read_format_version(*file);
    const auto tasks = std::uint64_t(read_config(*file).tasks);
    out.task_sums = read_sums(*file, "tasks/sum", tasks, out.format_version);
    out.task_counts = h5::read_int64s(*file, "tasks/count", tasks);
    out.task_tails = read_sums(*file, "tasks/tail", tasks, out.format_version);
    out.total = read_sums(*file, "total/sum", 1, out.format_version).front();
    out.total_count = h5::read_int64s(*file, "total/count", 1).front();
    if (h5::has_attribute(*file, "digest")) out.digest = h5::read_string_attribute(*file, "digest");
    return out;
  } catch (const Error& e) {
    throw usage_error(path.string() + " is not a valid tally file: " + e.what());
  }
}

}  // namespace tally::io
