// Checkpoints: two generations, digest-verified; every kind of damage ends in a
// fallback to the previous generation or a checkpoint error (exit 3), never in a
// wrong total and never in a crash. Trials are seeded and logged.
#include "io/checkpoint.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <fstream>
#include <random>

#include "core/error.hpp"
#include "io/hdf5.hpp"
#include "io/results_file.hpp"
#include "io/seal.hpp"
#include "io_test_support.hpp"

namespace tally::io {
namespace {

namespace fs = std::filesystem;
using testing::computed_record;
using testing::expect_same_results;
using testing::scratch_dir;

std::string read_bytes(const fs::path& p) {
  std::string bytes(fs::file_size(p), '\0');
  std::ifstream(p, std::ios::binary).read(bytes.data(), std::streamsize(bytes.size()));
  return bytes;
}
void write_bytes(const fs::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes;
}

/// Changes one stored value of a valid HDF5 checkpoint with the HDF5 API itself.
void tamper(const fs::path& p, int how) {
  h5::silence_errors();
  const h5::Id file{H5Fopen(p.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose};
  ASSERT_GE(file.get(), 0);
  if (how == 0) {  // one chunk sum + 1 (format 2: the {lo, hi} int128 compound)
    struct Words {
      std::uint64_t lo;
      std::int64_t hi;
    };
    const h5::Id type{H5Tcreate(H5T_COMPOUND, sizeof(Words)), H5Tclose};
    H5Tinsert(type.get(), "lo", HOFFSET(Words, lo), H5T_NATIVE_UINT64);
    H5Tinsert(type.get(), "hi", HOFFSET(Words, hi), H5T_NATIVE_INT64);
    const h5::Id set{H5Dopen2(file.get(), "chunks/sum", H5P_DEFAULT), H5Dclose};
    std::vector<Words> v(std::size_t(H5Sget_simple_extent_npoints(h5::Id{H5Dget_space(set.get()), H5Sclose}.get())));
    ASSERT_GE(H5Dread(set.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()), 0);
    v[v.size() / 2].lo += 1;
    ASSERT_GE(H5Dwrite(set.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()), 0);
  } else if (how == 1) {  // restarts attribute changed
    const h5::Id attr{H5Aopen(file.get(), "restarts", H5P_DEFAULT), H5Aclose};
    const std::int64_t value = 99;
    H5Awrite(attr.get(), H5T_NATIVE_INT64, &value);
  } else if (how == 2) {  // the ledger's done flags removed
    H5Ldelete(file.get(), "chunks/done", H5P_DEFAULT);
  } else {  // a done flag cleared: the checkpoint would redo work, the digest must notice
    const h5::Id set{H5Dopen2(file.get(), "chunks/done", H5P_DEFAULT), H5Dclose};
    std::vector<std::uint8_t> v(std::size_t(H5Sget_simple_extent_npoints(h5::Id{H5Dget_space(set.get()), H5Sclose}.get())));
    H5Dread(set.get(), H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data());
    v[0] = 0;
    H5Dwrite(set.get(), H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data());
  }
}

TEST(Checkpoint, SavesTwoGenerationsAndLoadsTheNewest) {
  const auto dir = scratch_dir("generations");
  const CheckpointStore store(dir / "run.ckpt", FileLocking::kBestEffort);
  EXPECT_FALSE(store.exists());
  EXPECT_FALSE(store.load(core::Config{}).has_value());
  auto first = computed_record(core::StreamKind::kNumpy, false);
  store.save(first);
  auto second = computed_record(core::StreamKind::kNumpy, true);
  second.status = "partial";
  store.save(second);
  EXPECT_TRUE(fs::exists(store.previous_path()));
  const auto loaded = store.load(second.ledger.config());
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->source, store.path());
  EXPECT_TRUE(loaded->warnings.empty());
  expect_same_results(second, loaded->record);
  store.remove();
  EXPECT_FALSE(store.exists());
  fs::remove_all(dir);
}

/// The load error's text; fails the test when load succeeds or throws anything else.
std::string load_error(const CheckpointStore& store, const core::Config& config, ExitCode expected) {
  try {
    (void)store.load(config);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), expected) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "load succeeded";
  return {};
}

TEST(Checkpoint, HeldOpenByAnotherProgramIsBusyNeverCorrupt) {
  // Issue 19, defect 13: an exclusive flock (h5py "r+" under HDF5's locking) or HDF5's
  // "open for writing" superblock mark (the same without locking) means busy: exit 2,
  // no advice to remove it, no fallback to the previous generation, nothing changed.
  const auto dir = scratch_dir("busy");
  const CheckpointStore store(dir / "run.ckpt", FileLocking::kBestEffort);
  const auto older = computed_record(core::StreamKind::kFast, false);
  store.save(older);
  auto newest = computed_record(core::StreamKind::kFast, true);
  newest.status = "partial";
  store.save(newest);
  const std::string newest_bytes = read_bytes(store.path()), previous_bytes = read_bytes(store.previous_path());
  const auto config = newest.ledger.config();

  const int fd = ::open(store.path().c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX), 0);
  std::string what = load_error(store, config, ExitCode::kUsage);
  EXPECT_NE(what.find("open in another program"), std::string::npos) << what;
  EXPECT_EQ(what.find("emove"), std::string::npos) << what;
  ::close(fd);

  std::string marked = newest_bytes;
  ASSERT_EQ(marked.compare(kSealBytes, 4, "\x89HDF"), 0);
  ASSERT_EQ(marked[kSealBytes + 8], 0) << "superblock version 0 expected: its flags are at offset 20";
  marked[kSealBytes + 20] = 1;  // HDF5's "open for write access" flag
  write_bytes(store.path(), marked);
  what = load_error(store, config, ExitCode::kUsage);
  EXPECT_NE(what.find("marked by HDF5 as open for writing"), std::string::npos) << what;
  EXPECT_EQ(read_bytes(store.previous_path()), previous_bytes);

  write_bytes(store.path(), newest_bytes);  // closed again: the newest generation loads
  const auto loaded = store.load(config);
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->source, store.path());
  expect_same_results(newest, loaded->record);
  fs::remove_all(dir);
}

TEST(Checkpoint, ForeignConfigurationIsRefusedNamingEachField) {
  const auto dir = scratch_dir("foreign");
  const CheckpointStore store(dir / "run.ckpt", FileLocking::kBestEffort);
  const auto record = computed_record(core::StreamKind::kFast, false);
  store.save(record);
  auto other = record.ledger.config();
  other.seed = 78;
  other.range.hi = 99;
  try {
    (void)store.load(other);
    FAIL() << "accepted a foreign checkpoint";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kCheckpoint);
    EXPECT_NE(std::string(e.what()).find("seed (77 vs 78)"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("range (1:100 vs 1:99)"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

TEST(Checkpoint, FallbackNeverPushesOutTheGoodPreviousGeneration) {
  const auto dir = scratch_dir("keepgood");
  const CheckpointStore store(dir / "run.ckpt", FileLocking::kBestEffort);
  const auto good = computed_record(core::StreamKind::kFast, false);
  store.save(good);
  store.save(good);
  write_bytes(store.path(), "torn");
  const auto loaded = store.load(good.ledger.config());
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->source, store.previous_path());
  ASSERT_EQ(loaded->warnings.size(), 1u);
  const std::string before = read_bytes(store.previous_path());
  store.save(loaded->record);  // replaces the torn newest, keeps the good previous one
  EXPECT_EQ(read_bytes(store.previous_path()), before);
  fs::remove_all(dir);
}

/// True when a load's reason is the seal's (io/seal.cpp) or the empty-file check before it.
bool stopped_at_seal(const std::string& why) {
  for (const char* seal : {"than its seal", "no tally seal", "after its seal", "whole-file digest", "empty or unreadable"})
    if (why.find(seal) != std::string::npos) return true;
  return false;
}

struct TrialCounts {
  int fallbacks = 0, refusals = 0, intact = 0, behind_seal = 0;
};

/// Damages one or both generations in seeded ways and loads. With `reseal`, every
/// damaged file that still has its user block is sealed again, so the damage gets past
/// the seal and reaches libhdf5 and tally's validation behind it (types and sizes,
/// stored bytes, ledger bounds, fingerprint, digest) — the path the seal now shields.
TrialCounts corruption_trials(const std::string& name, bool reseal, int trials) {
  const unsigned seed = std::random_device{}();
  std::mt19937_64 rng(seed);
  std::printf("%s: corruption seed %u\n", name.c_str(), seed);
  const auto dir = scratch_dir(name);
  TrialCounts n;
  for (int trial = 0; trial < trials; ++trial) {
    const auto record = computed_record(trial % 2 ? core::StreamKind::kNumpy : core::StreamKind::kFast, false,
                                        trial % 5 == 0);
    const CheckpointStore store(dir / ("t" + std::to_string(trial) + ".ckpt"), FileLocking::kBestEffort);
    store.save(record);
    store.save(record);
    const bool damage_previous = rng() % 4 == 0;
    const int kind = int(rng() % 8);
    for (const auto& victim : {store.path(), store.previous_path()}) {
      if (victim == store.previous_path() && !damage_previous) continue;
      std::string bytes = read_bytes(victim);
      switch (kind) {
        case 0: bytes.resize(rng() % bytes.size()); write_bytes(victim, bytes); break;
        case 1:
          for (int f = 0, k = 1 + int(rng() % 16); f < k; ++f) {
            // Behind the seal only the HDF5 part is worth damaging.
            const std::size_t at = reseal ? kSealBytes + rng() % (bytes.size() - kSealBytes) : rng() % bytes.size();
            bytes[at] ^= char(1 + rng() % 255);
          }
          write_bytes(victim, bytes);
          break;
        case 2: write_bytes(victim, ""); break;
        case 3: write_bytes(victim, "tally checkpoint? no, a text file\n"); break;
        case 7: {  // a results file where a checkpoint should be
          auto complete = record;
          complete.status = "partial";
          fs::remove(victim);
          write_results(victim, complete, true, FileLocking::kBestEffort);
          break;
        }
        default: tamper(victim, kind - 4); break;
      }
      if (reseal && kind != 7 && fs::file_size(victim) >= kSealBytes) write_seal(victim);
    }
    SCOPED_TRACE(name + " trial " + std::to_string(trial) + " kind " + std::to_string(kind) + " seed " +
                 std::to_string(seed));
    try {
      const auto loaded = store.load(record.ledger.config());
      EXPECT_TRUE(loaded);
      if (!loaded) continue;
      expect_same_results(record, loaded->record);  // whatever was used, it holds the true sums
      if (loaded->source == store.previous_path()) ++n.fallbacks;
      else ++n.intact;
      for (const auto& w : loaded->warnings)
        if (!stopped_at_seal(w)) ++n.behind_seal;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::kCheckpoint) << e.what();
      ++n.refusals;
      if (!stopped_at_seal(e.what())) ++n.behind_seal;
    }
    // Whatever path the load took, our RAII closed every HDF5 object it opened.
    EXPECT_EQ(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL), 0);
  }
  std::printf("%d trials: %d fell back, %d refused (exit 3), %d newest still intact; %d stopped behind the seal\n",
              trials, n.fallbacks, n.refusals, n.intact, n.behind_seal);
  fs::remove_all(dir);
  return n;
}

TEST(Checkpoint, CorruptionEndsInFallbackOrExit3NeverAWrongTotal) {
  constexpr int kTrials = 120;
  const auto n = corruption_trials("corrupt", false, kTrials);
  EXPECT_GT(n.fallbacks, kTrials / 3);
  EXPECT_GT(n.refusals, 0);
}

TEST(Checkpoint, CorruptionBehindAValidSealNeverGivesAWrongTotal) {
  constexpr int kTrials = 120;
  const auto n = corruption_trials("resealed", true, kTrials);
  EXPECT_GT(n.fallbacks, kTrials / 3);
  EXPECT_GT(n.behind_seal, kTrials / 3) << "the damage should reach the checks behind the seal";
}

}  // namespace
}  // namespace tally::io
