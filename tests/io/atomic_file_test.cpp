// Atomic writes and checkpoint rotation (issue 13, review 6): the new generation is
// written completely before the current file is touched, the current file is never
// missing, a failed write leaves both generations as they were, and temp names carry
// host, pid and a random part, in the target's own directory.
#include "io/atomic_file.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <climits>
#include <fstream>
#include <set>

#include "core/error.hpp"
#include "io_test_support.hpp"

namespace tally::io {
namespace {

namespace fs = std::filesystem;
using testing::file_bytes;
using testing::scratch_dir;

void put(const fs::path& p, const std::string& text) { std::ofstream(p, std::ios::binary | std::ios::trunc) << text; }
std::set<std::string> names_in(const fs::path& dir) {
  std::set<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.insert(e.path().filename().string());
  return out;
}

TEST(Rotation, NewGenerationIsWrittenBeforeTheCurrentOneMoves) {
  const auto dir = scratch_dir("rotate");
  const auto current = dir / "c.ckpt";
  const auto previous = dir / "c.ckpt.prev";
  put(current, "generation 2");
  put(previous, "generation 1");
  write_rotating(current, previous, true, [&](const fs::path& temp) {
    // While the new one is being written, both older generations are where they were.
    EXPECT_EQ(file_bytes(current), "generation 2");
    EXPECT_EQ(file_bytes(previous), "generation 1");
    EXPECT_EQ(temp.parent_path(), current.parent_path());
    put(temp, "generation 3");
  });
  EXPECT_EQ(file_bytes(current), "generation 3");
  EXPECT_EQ(file_bytes(previous), "generation 2");
  EXPECT_EQ(names_in(dir), (std::set<std::string>{"c.ckpt", "c.ckpt.prev"})) << "a temp file was left behind";
  fs::remove_all(dir);
}

TEST(Rotation, FailedWriteLeavesBothGenerationsUntouched) {
  const auto dir = scratch_dir("rotate-fail");
  const auto current = dir / "c.ckpt";
  const auto previous = dir / "c.ckpt.prev";
  put(current, "generation 2");
  put(previous, "generation 1");
  EXPECT_THROW(write_rotating(current, previous, true,
                              [&](const fs::path& temp) {
                                put(temp, "half of gen");
                                throw Error(ExitCode::kFailure, "No space left on device");
                              }),
               Error);
  EXPECT_EQ(file_bytes(current), "generation 2");
  EXPECT_EQ(file_bytes(previous), "generation 1");
  EXPECT_EQ(names_in(dir), (std::set<std::string>{"c.ckpt", "c.ckpt.prev"})) << "a temp file was left behind";
  fs::remove_all(dir);
}

TEST(Rotation, FirstGenerationAndAnUnusableCurrentOneKeepNoPrevious) {
  const auto dir = scratch_dir("rotate-first");
  const auto current = dir / "c.ckpt";
  const auto previous = dir / "c.ckpt.prev";
  write_rotating(current, previous, true, [&](const fs::path& temp) { put(temp, "first"); });
  EXPECT_EQ(file_bytes(current), "first");
  EXPECT_FALSE(fs::exists(previous));
  // keep = false: the current file is known bad and must not push out the good previous one.
  put(previous, "good");
  put(current, "torn");
  write_rotating(current, previous, false, [&](const fs::path& temp) { put(temp, "new"); });
  EXPECT_EQ(file_bytes(current), "new");
  EXPECT_EQ(file_bytes(previous), "good");
  fs::remove_all(dir);
}

TEST(Rotation, AfterAKillBetweenLinkAndRenameTheNextRotationLeavesNoTemp) {
  // A rotation killed after step 2 leaves current and previous as two names of one file.
  // rename() between two names of one file does nothing (POSIX), so the link temp of the
  // next rotation must be removed explicitly.
  const auto dir = scratch_dir("rotate-linked");
  const auto current = dir / "c.ckpt";
  const auto previous = dir / "c.ckpt.prev";
  put(current, "generation 2");
  ASSERT_EQ(::link(current.c_str(), previous.c_str()), 0);
  write_rotating(current, previous, true, [&](const fs::path& temp) { put(temp, "generation 3"); });
  EXPECT_EQ(file_bytes(current), "generation 3");
  EXPECT_EQ(file_bytes(previous), "generation 2");
  EXPECT_EQ(names_in(dir), (std::set<std::string>{"c.ckpt", "c.ckpt.prev"})) << "a temp file was left behind";
  fs::remove_all(dir);
}

TEST(Rotation, TempNamesCarryHostPidAndARandomPartInTheSameDirectory) {
  const auto dir = scratch_dir("temp-names");
  const auto target = dir / "out.h5";
  char host[HOST_NAME_MAX + 1] = {};
  ASSERT_EQ(::gethostname(host, sizeof host - 1), 0);
  // Built piecewise: g++ 12 warns (-Wrestrict, a false positive) on "." + string + ".".
  std::string host_part = ".", pid_part = ".";
  host_part.append(host).append(".");
  pid_part.append(std::to_string(::getpid())).append(".");
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const fs::path temp = temp_path_for(target);
    EXPECT_EQ(temp.parent_path(), dir);
    const std::string name = temp.filename().string();
    EXPECT_EQ(name.rfind(".out.h5.tmp.", 0), 0u) << name;
    EXPECT_NE(name.find(host_part), std::string::npos) << name;
    EXPECT_NE(name.find(pid_part), std::string::npos) << name;
    seen.insert(name);
  }
  EXPECT_EQ(seen.size(), 100u) << "two temp names of one process collided";
  fs::remove_all(dir);
}

}  // namespace
}  // namespace tally::io
