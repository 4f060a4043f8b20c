#include "io/hdf5.hpp"

#include <algorithm>
#include <cstring>

#include "core/error.hpp"

namespace tally::io::h5 {

namespace {
/// No H5_term_library at exit. When a disk fills up, H5Fclose fails and libhdf5 keeps
/// the file half-closed; its exit handler then closes it again and crashed (libhdf5
/// 1.10.8: SIGSEGV in H5F__close_cb, so exit 139 instead of tally's exit 1). tally
/// closes every file it opens itself (checked on write paths), so nothing is lost by
/// skipping it; the kernel closes the descriptors. Must run before any other HDF5 call,
/// hence a static initialiser of this file, which every HDF5 user links.
[[maybe_unused]] const bool kNoExitHandler = [] {
  (void)H5dont_atexit();
  return true;
}();

/// The operating-system cause HDF5 recorded for the last failure, e.g. "No space left
/// on device"; its error stack is silenced (tally prints one line), so it is summarised here.
herr_t find_system_error(unsigned /*n*/, const H5E_error2_t* error, void* data) {
  auto* cause = static_cast<std::string*>(data);
  if (!cause->empty() || error == nullptr || error->desc == nullptr) return 0;
  // HDF5's POSIX drivers write "…, errno = 28, error message = 'No space left on device', …".
  const char* key = "error message = '";
  const char* start = std::strstr(error->desc, key);
  if (start == nullptr) return 0;
  start += std::strlen(key);
  const char* end = std::strchr(start, '\'');
  if (end != nullptr) cause->assign(start, end);
  return 0;
}

std::string system_cause() {
  std::string cause;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, find_system_error, &cause);
  return cause;
}

[[noreturn]] void fail_write(const std::string& what) {
  const std::string cause = system_cause();
  throw Error(ExitCode::kFailure, "HDF5: cannot " + what + (cause.empty() ? "" : ": " + cause));
}
[[noreturn]] void fail_read(const std::string& what) { throw Error(ExitCode::kCheckpoint, what); }

Id checked(hid_t id, Id::Closer close, const std::string& what) {
  if (id < 0) fail_write(what);
  return {id, close};
}

Id make_space(const std::vector<hsize_t>& dims) {
  if (dims.empty()) return checked(H5Screate(H5S_SCALAR), H5Sclose, "create a dataspace");
  return checked(H5Screate_simple(int(dims.size()), dims.data(), nullptr), H5Sclose, "create a dataspace");
}

void write_raw(const Id& parent, const char* path, hid_t file_type, hid_t mem_type, const void* data,
               const std::vector<hsize_t>& dims) {
  const Id space = make_space(dims);
  const Id lcpl = checked(H5Pcreate(H5P_LINK_CREATE), H5Pclose, "create a link property list");
  H5Pset_create_intermediate_group(lcpl.get(), 1);
  const Id set = checked(H5Dcreate2(parent.get(), path, file_type, space.get(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT),
                         H5Dclose, std::string("create dataset ") + path);
  const bool empty = !dims.empty() && dims[0] == 0;
  if (!empty && H5Dwrite(set.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
    fail_write(std::string("write dataset ") + path);
}

void write_attribute_raw(const Id& object, const char* name, hid_t file_type, hid_t mem_type, const void* data) {
  const Id space = make_space({});
  const Id attr = checked(H5Acreate2(object.get(), name, file_type, space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose,
                          std::string("create attribute ") + name);
  if (H5Awrite(attr.get(), mem_type, data) < 0) fail_write(std::string("write attribute ") + name);
}

Id open_attribute(const Id& object, const char* name) {
  if (H5Aexists(object.get(), name) <= 0) fail_read(std::string("attribute '") + name + "' is missing");
  const hid_t id = H5Aopen(object.get(), name, H5P_DEFAULT);
  if (id < 0) fail_read(std::string("attribute '") + name + "' cannot be read");
  return {id, H5Aclose};
}

/// A stored type is acceptable only if it is the class and exact size tally writes: a
/// damaged type (say, a 4 GB element) must never reach H5Dread's conversion buffers.
bool plain_type(hid_t type, H5T_class_t expected_class, std::size_t expected_size) {
  return type >= 0 && H5Tget_class(type) == expected_class && H5Tget_size(type) == expected_size;
}

/// Before a read allocates memory for a dataset, its bytes must really be in the file.
/// tally writes contiguous (or compact) datasets, fully written, so what is stored is
/// exactly elements × element size and never more than the file itself. A crafted file
/// that declares 2^28 elements and stores none (storage never allocated, reads would
/// return fill values) is refused here instead of exhausting memory; so are layouts
/// tally never writes: chunked/filtered, virtual, or data kept in external files.
void check_stored_bytes(hid_t set, const char* path, std::uint64_t elements, std::size_t element_size) {
  if (elements == 0) return;
  const Id dcpl{H5Dget_create_plist(set), H5Pclose};
  const H5D_layout_t layout = dcpl.get() < 0 ? H5D_LAYOUT_ERROR : H5Pget_layout(dcpl.get());
  if ((layout != H5D_CONTIGUOUS && layout != H5D_COMPACT) || H5Pget_external_count(dcpl.get()) != 0)
    fail_read(std::string("dataset '") + path + "' uses a storage layout tally does not write");
  const Id owner{H5Iget_file_id(set), H5Fclose};
  hsize_t file_bytes = 0;
  if (owner.get() < 0 || H5Fget_filesize(owner.get(), &file_bytes) < 0)
    fail_read(std::string("dataset '") + path + "': the file's size cannot be determined");
  const unsigned __int128 claimed = static_cast<unsigned __int128>(elements) * element_size;
  const hsize_t stored = H5Dget_storage_size(set);
  if (claimed > file_bytes || stored != claimed)
    fail_read(std::string("dataset '") + path + "' claims " + std::to_string(elements) + " elements but the file stores " +
              std::to_string(stored) + " of their bytes (file " + std::to_string(file_bytes) + " bytes)");
}

template <typename T>
T read_scalar_attribute(const Id& object, const char* name, hid_t mem_type, H5T_class_t expected_class) {
  const Id attr = open_attribute(object, name);
  const Id type{H5Aget_type(attr.get()), H5Tclose};
  const Id space{H5Aget_space(attr.get()), H5Sclose};
  if (!plain_type(type.get(), expected_class, sizeof(T)) || space.get() < 0 ||
      H5Sget_simple_extent_npoints(space.get()) != 1)
    fail_read(std::string("attribute '") + name + "' has the wrong type or shape");
  T value{};
  if (H5Aread(attr.get(), mem_type, &value) < 0) fail_read(std::string("attribute '") + name + "' cannot be read");
  return value;
}

template <typename T>
std::vector<T> read_dataset(const Id& file, const char* path, std::uint64_t expected, hid_t mem_type,
                            H5T_class_t expected_class) {
  if (!exists(file, path)) fail_read(std::string("dataset '") + path + "' is missing");
  const Id set{H5Dopen2(file.get(), path, H5P_DEFAULT), H5Dclose};
  if (set.get() < 0) fail_read(std::string("dataset '") + path + "' cannot be opened");
  const Id type{H5Dget_type(set.get()), H5Tclose};
  const Id space{H5Dget_space(set.get()), H5Sclose};
  if (!plain_type(type.get(), expected_class, sizeof(T)) || space.get() < 0)
    fail_read(std::string("dataset '") + path + "' has the wrong type");
  const hssize_t n = H5Sget_simple_extent_npoints(space.get());
  if (n < 0 || std::uint64_t(n) != expected)
    fail_read(std::string("dataset '") + path + "' has " + std::to_string(n) + " elements, expected " +
              std::to_string(expected));
  check_stored_bytes(set.get(), path, expected, sizeof(T));
  std::vector<T> values(expected);
  if (expected > 0 && H5Dread(set.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) < 0)
    fail_read(std::string("dataset '") + path + "' cannot be read (truncated or corrupt)");
  return values;
}

/// The file and memory type of tally's 128-bit integers.
Id int128_type() {
  Id type = checked(H5Tcreate(H5T_COMPOUND, 16), H5Tclose, "create the int128 type");
  if (H5Tinsert(type.get(), "lo", 0, H5T_STD_U64LE) < 0 || H5Tinsert(type.get(), "hi", 8, H5T_STD_I64LE) < 0)
    fail_write("build the int128 type");
  return type;
}

struct Int128Words {
  std::uint64_t lo;
  std::int64_t hi;
};
static_assert(sizeof(Int128Words) == 16);

Int128Words split(__int128 v) {
  return {std::uint64_t(static_cast<unsigned __int128>(v)), std::int64_t(v >> 64)};
}

/// True when `type` is exactly the compound tally writes: lo (uint64 LE) at byte 0, hi
/// (int64 LE) at byte 8. H5Tequal compares names, offsets, byte order and sign: a
/// damaged member offset made libhdf5's conversion read outside its buffer (ASan).
bool is_int128_type(hid_t type) {
  if (type < 0 || H5Tget_class(type) != H5T_COMPOUND || H5Tget_size(type) != 16 || H5Tget_nmembers(type) != 2)
    return false;
  const Id tallys = int128_type();
  return H5Tequal(type, tallys.get()) > 0;
}

Id open_dataset(const Id& file, const char* path) {
  if (!exists(file, path)) fail_read(std::string("dataset '") + path + "' is missing");
  Id set{H5Dopen2(file.get(), path, H5P_DEFAULT), H5Dclose};
  if (set.get() < 0) fail_read(std::string("dataset '") + path + "' cannot be opened");
  return set;
}

/// Elements of a dataset that must be 1-D (or scalar when `scalar_ok`).
std::uint64_t checked_length(const Id& set, const char* path, std::uint64_t expected) {
  const Id space{H5Dget_space(set.get()), H5Sclose};
  const int rank = space.get() < 0 ? -1 : H5Sget_simple_extent_ndims(space.get());
  if (rank < 0 || rank > 1) fail_read(std::string("dataset '") + path + "' has the wrong shape");
  const hssize_t n = H5Sget_simple_extent_npoints(space.get());
  if (n < 0 || std::uint64_t(n) != expected)
    fail_read(std::string("dataset '") + path + "' has " + std::to_string(n) + " elements, expected " +
              std::to_string(expected));
  return expected;
}
}  // namespace

std::string library_version() {
  unsigned major = 0, minor = 0, release = 0;
  H5get_libversion(&major, &minor, &release);
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(release);
}

void start_library() {
  (void)H5open();  // a failure shows, with its reason, at the first file operation
}

void silence_errors() {
  static const bool silenced = [] {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    return true;
  }();
  (void)silenced;
}

Id file_access(FileLocking locking) {
  silence_errors();
  Id fapl = checked(H5Pcreate(H5P_FILE_ACCESS), H5Pclose, "create a file-access property list");
  // on: lock and fail if the file system cannot; best-effort: lock where possible;
  // off: never lock (NFS/Lustre mounts without working flock).
  const hbool_t use = locking != FileLocking::kOff;
  const hbool_t ignore_when_disabled = locking == FileLocking::kBestEffort;
  if (H5Pset_file_locking(fapl.get(), use, ignore_when_disabled) < 0) fail_write("set the file-locking property");
  return fapl;
}

Id create_file(const std::string& path, FileLocking locking, hsize_t user_block) {
  const Id fapl = file_access(locking);
  const Id fcpl = checked(H5Pcreate(H5P_FILE_CREATE), H5Pclose, "create a file-creation property list");
  if (user_block > 0 && H5Pset_userblock(fcpl.get(), user_block) < 0) fail_write("reserve the user block");
  return checked(H5Fcreate(path.c_str(), H5F_ACC_EXCL, fcpl.get(), fapl.get()), H5Fclose, "create " + path);
}

std::optional<Id> open_file(const std::string& path, FileLocking locking) {
  const Id fapl = file_access(locking);
  const hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get());
  if (id < 0) return std::nullopt;
  return Id{id, H5Fclose};
}

void flush(const Id& file) {
  if (H5Fflush(file.get(), H5F_SCOPE_GLOBAL) < 0) fail_write("flush the file");
}

void close_file(Id& file) {
  if (!file.close()) fail_write("close the file");
}

Id create_group(const Id& parent, const char* name) {
  return checked(H5Gcreate2(parent.get(), name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose,
                 std::string("create group ") + name);
}

void write_attribute(const Id& object, const char* name, const std::string& value) {
  const Id type = checked(H5Tcopy(H5T_C_S1), H5Tclose, "copy a string type");
  H5Tset_size(type.get(), value.empty() ? 1 : value.size());
  H5Tset_strpad(type.get(), H5T_STR_NULLTERM);
  const std::string padded = value.empty() ? std::string(1, '\0') : value;
  write_attribute_raw(object, name, type.get(), type.get(), padded.c_str());
}
void write_attribute(const Id& object, const char* name, std::int64_t value) {
  write_attribute_raw(object, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &value);
}
void write_attribute(const Id& object, const char* name, double value) {
  write_attribute_raw(object, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &value);
}

void write_dataset(const Id& parent, const char* path, const std::vector<std::int64_t>& values) {
  write_raw(parent, path, H5T_STD_I64LE, H5T_NATIVE_INT64, values.data(), {values.size()});
}
void write_dataset(const Id& parent, const char* path, const std::vector<std::uint8_t>& values) {
  write_raw(parent, path, H5T_STD_U8LE, H5T_NATIVE_UINT8, values.data(), {values.size()});
}
void write_dataset(const Id& parent, const char* path, const std::vector<double>& values) {
  write_raw(parent, path, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, values.data(), {values.size()});
}
void write_matrix(const Id& parent, const char* path, const std::vector<std::int64_t>& values, hsize_t rows,
                  hsize_t columns) {
  write_raw(parent, path, H5T_STD_I64LE, H5T_NATIVE_INT64, values.data(), {rows, columns});
}
void write_scalar(const Id& parent, const char* path, std::int64_t value) {
  write_raw(parent, path, H5T_STD_I64LE, H5T_NATIVE_INT64, &value, {});
}
void write_scalar(const Id& parent, const char* path, double value) {
  write_raw(parent, path, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &value, {});
}

void write_dataset(const Id& parent, const char* path, const std::vector<__int128>& values) {
  std::vector<Int128Words> words(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) words[i] = split(values[i]);
  const Id type = int128_type();
  write_raw(parent, path, type.get(), type.get(), words.data(), {values.size()});
}
void write_scalar(const Id& parent, const char* path, __int128 value) {
  const Int128Words words = split(value);
  const Id type = int128_type();
  write_raw(parent, path, type.get(), type.get(), &words, {});
}
void write_dataset(const Id& parent, const char* path, const std::vector<std::string>& values) {
  std::size_t width = 1;
  for (const auto& v : values) width = std::max(width, v.size() + 1);
  std::vector<char> packed(values.size() * width, '\0');
  for (std::size_t i = 0; i < values.size(); ++i) values[i].copy(packed.data() + i * width, values[i].size());
  const Id type = checked(H5Tcopy(H5T_C_S1), H5Tclose, "copy a string type");
  H5Tset_size(type.get(), width);
  H5Tset_strpad(type.get(), H5T_STR_NULLTERM);
  write_raw(parent, path, type.get(), type.get(), packed.data(), {values.size()});
}
void write_string_attributes(const Id& parent, const char* group, const std::map<std::string, std::string>& values) {
  const Id g = create_group(parent, group);
  for (const auto& [name, value] : values) write_attribute(g, name.c_str(), value);
}

bool exists(const Id& file, const char* path) {
  // Check each component: H5Lexists on "a/b" fails when "a" is missing.
  std::string prefix;
  for (const char* p = path;; ++p) {
    if (*p == '/' || *p == '\0') {
      if (!prefix.empty() && H5Lexists(file.get(), prefix.c_str(), H5P_DEFAULT) <= 0) return false;
      if (*p == '\0') return !prefix.empty();
    }
    prefix += *p;
  }
}

bool has_attribute(const Id& object, const char* name) { return H5Aexists(object.get(), name) > 0; }

std::string read_string_attribute(const Id& object, const char* name) {
  const Id attr = open_attribute(object, name);
  const Id type{H5Aget_type(attr.get()), H5Tclose};
  if (type.get() < 0 || H5Tget_class(type.get()) != H5T_STRING || H5Tis_variable_str(type.get()) > 0)
    fail_read(std::string("attribute '") + name + "' is not a fixed-length string");
  const std::size_t size = H5Tget_size(type.get());
  if (size == 0 || size > (1u << 20)) fail_read(std::string("attribute '") + name + "' has an absurd size");
  std::string value(size, '\0');
  if (H5Aread(attr.get(), type.get(), value.data()) < 0) fail_read(std::string("attribute '") + name + "' cannot be read");
  value.resize(value.find('\0') == std::string::npos ? size : value.find('\0'));
  return value;
}
std::int64_t read_int_attribute(const Id& object, const char* name) {
  return read_scalar_attribute<std::int64_t>(object, name, H5T_NATIVE_INT64, H5T_INTEGER);
}
double read_double_attribute(const Id& object, const char* name) {
  return read_scalar_attribute<double>(object, name, H5T_NATIVE_DOUBLE, H5T_FLOAT);
}

std::vector<std::int64_t> read_int64s(const Id& file, const char* path, std::uint64_t expected) {
  return read_dataset<std::int64_t>(file, path, expected, H5T_NATIVE_INT64, H5T_INTEGER);
}
std::vector<std::uint8_t> read_uint8s(const Id& file, const char* path, std::uint64_t expected) {
  return read_dataset<std::uint8_t>(file, path, expected, H5T_NATIVE_UINT8, H5T_INTEGER);
}
std::vector<double> read_doubles(const Id& file, const char* path, std::uint64_t expected) {
  return read_dataset<double>(file, path, expected, H5T_NATIVE_DOUBLE, H5T_FLOAT);
}

std::vector<__int128> read_int128s(const Id& file, const char* path, std::uint64_t expected) {
  const Id set = open_dataset(file, path);
  const Id type{H5Dget_type(set.get()), H5Tclose};
  if (!is_int128_type(type.get())) fail_read(std::string("dataset '") + path + "' is not tally's int128 type");
  checked_length(set, path, expected);
  check_stored_bytes(set.get(), path, expected, sizeof(Int128Words));
  std::vector<Int128Words> words(expected);
  const Id mem = int128_type();
  if (expected > 0 && H5Dread(set.get(), mem.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, words.data()) < 0)
    fail_read(std::string("dataset '") + path + "' cannot be read (truncated or corrupt)");
  std::vector<__int128> out(expected);
  for (std::size_t i = 0; i < expected; ++i)
    out[i] = static_cast<__int128>((static_cast<unsigned __int128>(std::uint64_t(words[i].hi)) << 64) | words[i].lo);
  return out;
}

std::vector<std::string> read_strings(const Id& file, const char* path, std::uint64_t expected) {
  const Id set = open_dataset(file, path);
  const Id type{H5Dget_type(set.get()), H5Tclose};
  if (type.get() < 0 || H5Tget_class(type.get()) != H5T_STRING || H5Tis_variable_str(type.get()) > 0)
    fail_read(std::string("dataset '") + path + "' is not fixed-length strings");
  const std::size_t width = H5Tget_size(type.get());
  if (width == 0 || width > (1u << 16)) fail_read(std::string("dataset '") + path + "' has an absurd string size");
  checked_length(set, path, expected);
  check_stored_bytes(set.get(), path, expected, width);
  std::vector<char> packed(expected * width, '\0');
  if (expected > 0 && H5Dread(set.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, packed.data()) < 0)
    fail_read(std::string("dataset '") + path + "' cannot be read (truncated or corrupt)");
  std::vector<std::string> out(expected);
  for (std::size_t i = 0; i < expected; ++i) {
    const char* at = packed.data() + i * width;
    out[i].assign(at, std::find(at, at + width, '\0'));
  }
  return out;
}

std::uint64_t dataset_length(const Id& file, const char* path, std::uint64_t limit) {
  const Id set = open_dataset(file, path);
  const Id space{H5Dget_space(set.get()), H5Sclose};
  if (space.get() < 0 || H5Sget_simple_extent_ndims(space.get()) != 1)
    fail_read(std::string("dataset '") + path + "' has the wrong shape");
  const hssize_t n = H5Sget_simple_extent_npoints(space.get());
  if (n < 0 || std::uint64_t(n) > limit) fail_read(std::string("dataset '") + path + "' is absurdly long");
  return std::uint64_t(n);
}

std::map<std::string, std::string> read_string_attributes(const Id& file, const char* group) {
  if (!exists(file, group)) fail_read(std::string("group '") + group + "' is missing");
  const Id g{H5Gopen2(file.get(), group, H5P_DEFAULT), H5Gclose};
  if (g.get() < 0) fail_read(std::string("group '") + group + "' cannot be opened");
  H5O_info_t info{};
  if (H5Oget_info2(g.get(), &info, H5O_INFO_NUM_ATTRS) < 0 || info.num_attrs > 256)
    fail_read(std::string("group '") + group + "' has too many attributes");
  std::map<std::string, std::string> out;
  for (hsize_t i = 0; i < info.num_attrs; ++i) {
    char name[256] = {};
    if (H5Aget_name_by_idx(g.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, name, sizeof name - 1, H5P_DEFAULT) < 0)
      fail_read(std::string("group '") + group + "' has an unreadable attribute");
    out[name] = read_string_attribute(g, name);
  }
  return out;
}

}  // namespace tally::io::h5
