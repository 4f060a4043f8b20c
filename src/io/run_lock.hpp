#pragma once
// The run lock: one run at a time per file name a run writes. Rank 0 holds an exclusive
// flock(2) on "<output>.lock", "<checkpoint>.lock" and "<checkpoint>.prev.lock" for the
// whole run; a second run that would write any of these names (as its output, its
// checkpoint or its previous checkpoint) refuses up front (exit 2) naming the holder.
// flock is released by the kernel when its holder dies, so a lock left by a killed run
// never blocks.
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "io/file_locking.hpp"

namespace tally::io {

class RunLock {
 public:
  RunLock() = default;
  /// Locks "<file>.lock" for every file, in order. Throws a usage Error (exit 2) when
  /// another process holds one: "… is in use by another tally run (pid P on host H …)".
  /// `policy`: kOff takes no lock; kBestEffort runs unlocked where the file system has
  /// no flock (ENOLCK, EOPNOTSUPP); kOn refuses there (exit 1).
  RunLock(const std::vector<std::filesystem::path>& files, FileLocking policy);
  RunLock(RunLock&& other) noexcept;
  RunLock& operator=(RunLock&& other) noexcept;
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;
  /// Removes the lock files while still holding them, then unlocks.
  ~RunLock();

  /// What a lock file's name adds to the file's.
  static constexpr std::string_view kSuffix = ".lock";
  /// "<file>.lock".
  [[nodiscard]] static std::filesystem::path lock_path(const std::filesystem::path& file);
  /// The lock files held (empty when the policy or the file system gave none).
  [[nodiscard]] std::vector<std::filesystem::path> held() const;

 private:
  struct Held {
    std::filesystem::path path;
    int fd;
  };
  void release() noexcept;
  std::vector<Held> held_;
};

}  // namespace tally::io
