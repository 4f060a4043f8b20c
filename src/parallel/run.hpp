#pragma once
// A whole run on this rank: start-up checks whose verdict every rank shares, resume
// from a checkpoint, coordinator or worker loop, final results file, exit code.
#include <filesystem>
#include <optional>
#include <string>

#include "core/config.hpp"
#include "core/error.hpp"
#include "io/file_locking.hpp"
#include "io/run_record.hpp"
#include "parallel/progress.hpp"

namespace tally::parallel {

namespace mpi {
class Session;
}

enum class ResumePolicy { kAuto, kRequire, kNever };
[[nodiscard]] ResumePolicy parse_resume_policy(const std::string& text);

/// Everything `tally run` was asked to do.
struct RunSettings {
  core::Config config;
  int threads = 1;
  std::filesystem::path output = "tally-results.h5";
  bool force = false;
  std::filesystem::path checkpoint;      ///< empty: "<output>.ckpt"
  double checkpoint_every = 60;          ///< seconds; 0 = only when stopping
  ResumePolicy resume = ResumePolicy::kAuto;
  double max_seconds = 0;                ///< 0 = no limit
  double peer_timeout = 300;             ///< seconds without a message before giving up
  io::FileLocking file_locking = io::FileLocking::kBestEffort;
  Progress::Mode progress = Progress::Mode::kAuto;
  double progress_interval = 10;
  bool histogram = false;

  [[nodiscard]] std::filesystem::path checkpoint_path() const;
};

/// What a run ended with. `record` and `notes` are filled on rank 0 only.
struct RunOutcome {
  ExitCode code = ExitCode::kOk;
  std::optional<io::RunRecord> record;
  std::vector<std::string> notes;  ///< e.g. "resumed from …", "stopped by SIGUSR1"
};

/// Runs on this process alone (no MPI): threads only.
[[nodiscard]] RunOutcome run_local(const RunSettings& settings);
/// Runs as one rank of `session`. Every rank returns the same exit code; errors found
/// on rank 0 before any work are thrown on every rank with the same message.
[[nodiscard]] RunOutcome run_mpi(const RunSettings& settings, const mpi::Session& session);

}  // namespace tally::parallel
