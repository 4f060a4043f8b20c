#pragma once
// RAII owners for HDF5 ids and the few typed reads and writes tally needs. Nothing
// outside this file calls H5*close; every failure becomes a tally::Error.
#include <hdf5.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "io/file_locking.hpp"

namespace tally::io::h5 {

/// Owns one HDF5 id and closes it with the matching H5*close. The destructor never
/// throws (it runs while unwinding); a write path closes its file with close_file(),
/// which does check: closing a file flushes it, and a disk that fills up shows there.
class Id {
 public:
  using Closer = herr_t (*)(hid_t);
  Id() = default;
  Id(hid_t id, Closer closer) : id_(id), close_(closer) {}
  Id(Id&& other) noexcept : id_(std::exchange(other.id_, H5I_INVALID_HID)), close_(other.close_) {}
  Id& operator=(Id&& other) noexcept {
    if (this != &other) {
      reset();
      id_ = std::exchange(other.id_, H5I_INVALID_HID);
      close_ = other.close_;
    }
    return *this;
  }
  Id(const Id&) = delete;
  Id& operator=(const Id&) = delete;
  ~Id() { reset(); }

  [[nodiscard]] hid_t get() const { return id_; }
  void reset() noexcept { (void)close(); }
  /// Closes now; false when H5*close failed. The id is given up either way.
  [[nodiscard]] bool close() noexcept {
    const bool ok = id_ < 0 || close_ == nullptr || close_(id_) >= 0;
    id_ = H5I_INVALID_HID;
    return ok;
  }

 private:
  hid_t id_ = H5I_INVALID_HID;
  Closer close_ = nullptr;
};

/// Turns off HDF5's own error printing (once): tally reports one clear line instead.
void silence_errors();
/// The HDF5 library's version, e.g. "1.10.8".
[[nodiscard]] std::string library_version();
/// Starts the HDF5 library now, on the calling thread. A parallel HDF5 makes MPI calls
/// as it starts; under MPI_THREAD_FUNNELED they must come from the MPI thread, not from
/// the helper thread that later opens a file (parallel/beside.hpp).
void start_library();

/// File-access property list with the chosen locking policy.
[[nodiscard]] Id file_access(FileLocking locking);
/// Creates a new file; `user_block` bytes at its start are left to the caller (0 or a
/// power of two ≥ 512).
[[nodiscard]] Id create_file(const std::string& path, FileLocking locking, hsize_t user_block = 0);
/// Opens read-only; nullopt when the file is not HDF5 or cannot be opened.
[[nodiscard]] std::optional<Id> open_file(const std::string& path, FileLocking locking);
void flush(const Id& file);
/// Closes a file written by tally and throws a failure Error (exit 1) when the close
/// fails: a file whose last bytes did not reach the disk must never be sealed, synced
/// and renamed into place as good.
void close_file(Id& file);

[[nodiscard]] Id create_group(const Id& parent, const char* name);

void write_attribute(const Id& object, const char* name, const std::string& value);
void write_attribute(const Id& object, const char* name, std::int64_t value);
void write_attribute(const Id& object, const char* name, double value);

void write_dataset(const Id& parent, const char* path, const std::vector<std::int64_t>& values);
void write_dataset(const Id& parent, const char* path, const std::vector<std::uint8_t>& values);
void write_dataset(const Id& parent, const char* path, const std::vector<double>& values);
void write_matrix(const Id& parent, const char* path, const std::vector<std::int64_t>& values, hsize_t rows,
                  hsize_t columns);
void write_scalar(const Id& parent, const char* path, std::int64_t value);
void write_scalar(const Id& parent, const char* path, double value);

/// 128-bit integers as the compound {lo: uint64 LE, hi: int64 LE}; value = hi·2^64 + lo.
void write_dataset(const Id& parent, const char* path, const std::vector<__int128>& values);
void write_scalar(const Id& parent, const char* path, __int128 value);
/// Fixed-length, NUL-terminated strings (one length for all, at least 1).
void write_dataset(const Id& parent, const char* path, const std::vector<std::string>& values);
/// String attributes on a group (created here), one per entry.
void write_string_attributes(const Id& parent, const char* group, const std::map<std::string, std::string>& values);

[[nodiscard]] bool exists(const Id& file, const char* path);
[[nodiscard]] bool has_attribute(const Id& object, const char* name);
/// Readers throw a checkpoint Error (exit 3) naming what is missing or malformed.
[[nodiscard]] std::string read_string_attribute(const Id& object, const char* name);
[[nodiscard]] std::int64_t read_int_attribute(const Id& object, const char* name);
[[nodiscard]] double read_double_attribute(const Id& object, const char* name);
/// Reads a 1-D (or any-rank, flattened) dataset; `expected` elements or throws.
[[nodiscard]] std::vector<std::int64_t> read_int64s(const Id& file, const char* path, std::uint64_t expected);
[[nodiscard]] std::vector<std::uint8_t> read_uint8s(const Id& file, const char* path, std::uint64_t expected);
[[nodiscard]] std::vector<double> read_doubles(const Id& file, const char* path, std::uint64_t expected);
[[nodiscard]] std::vector<__int128> read_int128s(const Id& file, const char* path, std::uint64_t expected);
/// Fixed-length strings; each at most 64 KiB.
[[nodiscard]] std::vector<std::string> read_strings(const Id& file, const char* path, std::uint64_t expected);
/// Number of elements of a 1-D dataset (bounded by `limit`, else a checkpoint Error).
[[nodiscard]] std::uint64_t dataset_length(const Id& file, const char* path, std::uint64_t limit);
/// Every string attribute of a group (at most 256, each at most 1 MiB).
[[nodiscard]] std::map<std::string, std::string> read_string_attributes(const Id& file, const char* group);

}  // namespace tally::io::h5
