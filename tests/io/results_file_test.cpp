// Results files round-trip exactly, are written atomically, and never overwrite an
// existing file without force.
#include "io/results_file.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iterator>

#include "core/error.hpp"
#include "io/atomic_file.hpp"
#include "io/checkpoint.hpp"
#include "io/output_paths.hpp"
#include "io/seal.hpp"
#include "io_test_support.hpp"

namespace tally::io {
namespace {

using testing::computed_record;
using testing::expect_same_results;
using testing::scratch_dir;

TEST(ResultsFile, RoundTripsBothStreams) {
  const auto dir = scratch_dir("roundtrip");
  for (auto stream : {core::StreamKind::kFast, core::StreamKind::kNumpy}) {
    const auto record = computed_record(stream, true, true);
    const auto path = dir / (core::to_string(stream) + ".h5");
    write_results(path, record, false, FileLocking::kBestEffort);
    const auto back = read_results(path, FileLocking::kBestEffort);
    expect_same_results(record, back);
    EXPECT_EQ(back.status, "complete");
    EXPECT_EQ(back.ranks, 2);
    EXPECT_EQ(back.threads, 3);
    EXPECT_EQ(back.restarts, 2);
    EXPECT_DOUBLE_EQ(back.elapsed_seconds, 4.25);
    ASSERT_EQ(back.rank_timing.size(), 2u);
    EXPECT_EQ(back.rank_timing[1].chunks, 11);
  }
  std::filesystem::remove_all(dir);
}

TEST(ResultsFile, ExistingFileIsNeverOverwrittenWithoutForce) {
  const auto dir = scratch_dir("noclobber");
  const auto path = dir / "precious.h5";
  { std::ofstream(path) << "precious"; }
  const auto record = computed_record(core::StreamKind::kFast, true);
  EXPECT_THROW(check_run_paths(path, dir / "precious.h5.ckpt", false), Error);
  try {
    write_results(path, record, false, FileLocking::kBestEffort);
    FAIL() << "overwrote without --force";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kUsage);
  }
  std::ifstream in(path);
  std::string text;
  in >> text;
  EXPECT_EQ(text, "precious");
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), {}), 1) << "a temp file was left behind";
  write_results(path, record, true, FileLocking::kBestEffort);
  expect_same_results(record, read_results(path, FileLocking::kBestEffort));
  std::filesystem::remove_all(dir);
}

TEST(ResultsFile, PathProblemsAreUsageErrors) {
  const auto dir = scratch_dir("paths");
  for (const auto& bad : {dir / "missing" / "x.h5", dir}) {
    try {
      check_run_paths(bad, dir / "x.h5.ckpt", true);
      FAIL() << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::kUsage) << bad;
    }
  }
  std::filesystem::remove_all(dir);
}

TEST(ResultsFile, LockFileNamesAreRefusedEvenWithForce) {
  // Written over, another run's lock file would stop locking it; deleted with its lock.
  const auto dir = scratch_dir("lockname");
  for (const auto& [output, checkpoint] : {std::pair{dir / "x.h5.lock", dir / "x.h5.ckpt"},
                                           std::pair{dir / "x.h5", dir / "other.h5.lock"}}) {
    try {
      check_run_paths(output, checkpoint, true);
      FAIL() << output << " " << checkpoint;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::kUsage);
      EXPECT_NE(std::string(e.what()).find("lock file"), std::string::npos) << e.what();
    }
  }
  EXPECT_NO_THROW(check_run_paths(dir / "x.lock.h5", dir / "x.lock.h5.ckpt", true));
  std::filesystem::remove_all(dir);
}

TEST(ResultsFile, CheckpointAndPreviousMayBeOneFileOtherPairsMayNot) {
  // A rotation killed between its link and its rename leaves the checkpoint and its
  // previous generation as two names of one file: a resume must accept that. The output
  // hard-linked to either of them is still refused.
  const auto dir = scratch_dir("linked");
  const auto checkpoint = dir / "x.h5.ckpt";
  const auto previous = dir / "x.h5.ckpt.prev";
  { std::ofstream(checkpoint) << "generation"; }
  std::filesystem::create_hard_link(checkpoint, previous);
  EXPECT_NO_THROW(check_run_paths(dir / "x.h5", checkpoint, false));
  std::filesystem::create_hard_link(previous, dir / "x.h5");
  try {
    check_run_paths(dir / "x.h5", checkpoint, true);
    FAIL() << "output hard-linked to the checkpoint was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kUsage);
    EXPECT_NE(std::string(e.what()).find("same file"), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(dir);
}

TEST(ResultsFile, NamesWhoseTempNamesCannotBeWrittenAreRefusedUpFront) {
  // Every file is written under a longer temp name (io::longest_temp_name); the longest,
  // the previous checkpoint's, must fit NAME_MAX, or the run would compute everything
  // and then fail at its final write or at a rotation (issue 19, defect 11).
  const auto dir = scratch_dir("long");
  const long name_max = ::pathconf(dir.c_str(), _PC_NAME_MAX);
  ASSERT_GT(name_max, 0);
  const std::size_t overhead = longest_temp_name(dir / "x.ckpt.prev") - std::string("x").size();
  const std::size_t longest_ok = std::size_t(name_max) - overhead;
  EXPECT_NO_THROW(check_run_paths(dir / std::string(longest_ok, 'a'), dir / (std::string(longest_ok, 'a') + ".ckpt"),
                                  false));
  for (const std::size_t length : {longest_ok + 1, std::size_t(name_max), std::size_t(name_max) + 1}) {
    const auto output = dir / std::string(length, 'a');
    try {
      check_run_paths(output, dir / (std::string(length, 'a') + ".ckpt"), false);
      FAIL() << "an output name of " << length << " bytes was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::kUsage);
      EXPECT_NE(std::string(e.what()).find("too long"), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), {}), 0) << "a check wrote a file";
  std::filesystem::remove_all(dir);
}

TEST(ResultsFile, ReadingGarbageIsAUsageError) {
  const auto dir = scratch_dir("garbage");
  const auto path = dir / "garbage.h5";
  { std::ofstream(path) << "not hdf5 at all"; }
  try {
    (void)read_results(path, FileLocking::kOff);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kUsage);
  }
  std::filesystem::remove_all(dir);
}

ReadProblem problem_reading(const std::filesystem::path& path) {
  try {
    (void)read_results(path, FileLocking::kOff);
  } catch (const ReadError& e) {
    return e.problem();
  }
  ADD_FAILURE() << path << " was read";
  return ReadProblem::kContent;
}

TEST(ResultsFile, ReadersDecideByKindAndCheckTheSealBeforeParsing) {
  const auto dir = scratch_dir("kinds");
  EXPECT_EQ(problem_reading(dir), ReadProblem::kNotAFile);
  EXPECT_EQ(problem_reading(dir / "absent.h5"), ReadProblem::kNotAFile);
  { std::ofstream(dir / "text") << "not hdf5 at all"; }
  EXPECT_EQ(problem_reading(dir / "text"), ReadProblem::kNotHdf5);

  const auto record = computed_record(core::StreamKind::kNumpy, false);
  const CheckpointStore store(dir / "k.ckpt", FileLocking::kOff);
  store.save(record);
  const auto good = read_tally_file(store.path(), FileLocking::kOff);
  EXPECT_TRUE(good.sealed);
  EXPECT_EQ(good.digest_problem, "");
  expect_same_results(record, read_results(store.path(), FileLocking::kOff));

  const auto bytes = testing::file_bytes(store.path());
  const auto write = [&](const std::string& name, std::string b) {
    std::ofstream(dir / name, std::ios::binary) << b;
    return dir / name;
  };
  std::string flipped = bytes;
  flipped[bytes.size() / 2] ^= 1;
  EXPECT_EQ(problem_reading(write("flipped.ckpt", flipped)), ReadProblem::kSeal);
  std::string zeroed = bytes;
  std::fill(zeroed.begin(), zeroed.begin() + kSealBytes, '\0');
  EXPECT_EQ(problem_reading(write("zeroed.ckpt", zeroed)), ReadProblem::kSeal);
  EXPECT_EQ(problem_reading(write("torn.ckpt", bytes.substr(0, bytes.size() - 1))), ReadProblem::kSeal);
  EXPECT_EQ(problem_reading(write("stub.ckpt", bytes.substr(0, 100))), ReadProblem::kSeal);

  // A results file has no seal and is parsed directly.
  write_results(dir / "r.h5", computed_record(core::StreamKind::kFast, true), false, FileLocking::kOff);
  EXPECT_FALSE(read_tally_file(dir / "r.h5", FileLocking::kOff).sealed);
  std::filesystem::remove_all(dir);
}


}  // namespace
}  // namespace tally::io
