// libFuzzer targets: arbitrary bytes as the newest checkpoint (a valid previous
// generation beside it). Loading must end in a record holding the true sums or in a
// tally::Error — never a crash, a hang or a sanitizer report.
//
// Built twice (tests/fuzz/CMakeLists.txt):
// - tally_checkpoint_fuzz: the input is the whole file, so nearly every mutation stops
//   at the seal (the first thing a load checks).
// - tally_checkpoint_sealed_fuzz (TALLY_FUZZ_BEHIND_SEAL): the input is the HDF5 part;
//   the target puts a user block before it and seals it, so every mutation reaches
//   libhdf5 and tally's checks behind the seal (types and sizes, stored bytes, ledger
//   bounds, fingerprint, digest). The same file is also read as `tally inspect` and
//   `tally verify` read it (io::read_tally_file), which must return or throw a ReadError.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string_view>

#include <hdf5.h>

#include "core/error.hpp"
#include "core/kernel.hpp"
#include "io/checkpoint.hpp"
#include "io/results_file.hpp"
#include "io/seal.hpp"

namespace {
namespace fs = std::filesystem;
using namespace tally;

struct World {
  fs::path dir;
  io::CheckpointStore store;
  core::Config config;
  core::i128 total = 0;
};

World& world() {
  static World w = [] {
    const fs::path dir = fs::temp_directory_path() / ("tally-fuzz-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    core::Config c;
    c.tasks = 2;
    c.samples = 3000;
    c.chunk = 500;
    c.stream = core::StreamKind::kNumpy;
    io::RunRecord r{core::Ledger(c)};
    const core::Kernel kernel(c);
    for (core::ChunkId id = 0; id < r.ledger.size(); ++id) r.ledger.record(id, kernel.sum_chunk(id));
    r.ledger.finish_tails(kernel);
    r.rank_timing.resize(1);
    io::CheckpointStore store(dir / "f.ckpt", io::FileLocking::kOff);
    store.save(r);
    store.save(r);  // the previous generation is valid
    const char* seed_out = std::getenv("TALLY_FUZZ_WRITE_SEED");  // to build a seed corpus
    if (seed_out != nullptr) {
#ifdef TALLY_FUZZ_BEHIND_SEAL
      // The seed is the part after the user block: the target seals it again.
      std::ifstream in(store.path(), std::ios::binary);
      in.seekg(std::streamoff(io::kSealBytes));
      std::ofstream(seed_out, std::ios::binary) << in.rdbuf();
#else
      fs::copy_file(store.path(), seed_out, fs::copy_options::overwrite_existing);
#endif
    }
    return World{dir, store, c, r.ledger.total_sum()};
  }();
  return w;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  World& w = world();
  {
    std::ofstream out(w.store.path(), std::ios::binary | std::ios::trunc);
#ifdef TALLY_FUZZ_BEHIND_SEAL
    out << std::string(io::kSealBytes, '\0');
#endif
    out.write(reinterpret_cast<const char*>(data), std::streamsize(size));
  }
#ifdef TALLY_FUZZ_BEHIND_SEAL
  io::write_seal(w.store.path());
  try {
    (void)io::read_tally_file(w.store.path(), io::FileLocking::kOff);
  } catch (const io::ReadError&) {
  }
  if (H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL) != 0) std::abort();
#endif
  try {
    const auto loaded = w.store.load(w.config);
    if (!loaded || loaded->record.ledger.total_sum() != w.total) std::abort();  // a wrong total is a bug
  } catch (const Error& e) {
    // Damage is exit 3. The one other answer allowed: bytes that carry HDF5's "open for
    // writing" mark are refused as busy (exit 2, nothing changed), as a checkpoint that
    // another program has open is.
    const bool busy = e.code() == ExitCode::kUsage &&
                      std::string_view(e.what()).find("marked by HDF5 as open for writing") != std::string_view::npos;
    if (e.code() != ExitCode::kCheckpoint && !busy) std::abort();
  }
  // Our RAII must have closed every HDF5 object, whatever path the load took. (Leaks
  // inside libhdf5's own error paths are suppressed in tests/lsan.supp.)
  if (H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL) != 0) std::abort();
  return 0;
}
