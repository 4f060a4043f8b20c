#pragma once
// `tally verify`: independent checks of a results file or checkpoint — digest, chunk
// replay from the stored configuration, sums against their chunks, statistics,
// histogram. Each check has a name, a verdict and a one-line detail.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "core/kernel.hpp"
#include "core/types.hpp"
#include "io/file_locking.hpp"

namespace tally::app {

struct Check {
  std::string name;
  bool passed = true;
  std::string detail;
};

struct VerifyOptions {
  std::uint64_t chunks = 4;      ///< random chunks to replay (at least 1)
  bool all = false;              ///< replay every done chunk
  std::uint64_t seed = 0;        ///< which chunks are drawn (0: from the clock)
  int threads = 1;
  double z_limit = 6;            ///< |z| above this fails (p ≈ 2e-9 per test)
  io::FileLocking locking = io::FileLocking::kBestEffort;
  /// Computes the chosen chunks' sums (sorted ids; `chunks`: the file's chunk count).
  /// Empty: this process alone, kernel.sum_chunks with `threads`. Under a launcher:
  /// spread over the ranks (parallel::ReplayCoordinator) — the same sums either way.
  std::function<void(const core::Kernel& kernel, std::uint64_t chunks, std::span<const core::ChunkId> ids,
                     std::span<core::ChunkSum> out)>
      replay_chunks;
};

/// Runs every check; throws a usage Error (an io::ReadError) when the file is missing
/// or not HDF5 at all. A checkpoint whose seal fails is never parsed: one failed check.
[[nodiscard]] std::vector<Check> verify_file(const std::filesystem::path& path, const VerifyOptions& options);

}  // namespace tally::app
