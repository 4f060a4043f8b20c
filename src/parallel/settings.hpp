#pragma once
// RunSettings: everything `tally run` was asked to do, parsed and validated by the app
// layer, read by the run's story (run.cpp), the coordinator and the workers.
#include <filesystem>
#include <map>
#include <string>

#include "core/config.hpp"
#include "io/file_locking.hpp"
#include "io/run_record.hpp"
#include "parallel/peer_timing.hpp"
#include "parallel/progress.hpp"

namespace tally::parallel {

/// `--resume` (its words are in app/options.hpp).
enum class ResumePolicy { kAuto, kRequire, kNever };

struct RunSettings {
  core::Config config;
  int threads = 1;
  std::filesystem::path output = "tally-results.h5";
  bool force = false;
  std::filesystem::path checkpoint;      ///< empty: "<output>.ckpt"
  double checkpoint_every = 60;          ///< seconds; 0 = only when stopping
  ResumePolicy resume = ResumePolicy::kAuto;
  double max_seconds = 0;                ///< 0 = no limit
  /// Seconds of silence after which rank 0 declares a worker lost (its batches go to
  /// the living ranks) and a worker gives up on rank 0 (docs/fault-tolerance.md).
  double peer_timeout = 10;
  io::FileLocking file_locking = io::FileLocking::kBestEffort;
  Progress::Mode progress = Progress::Mode::kAuto;
  double progress_interval = 10;
  bool histogram = false;
  /// This start's row of the restart history, with what the app layer knows (command
  /// line, user, Slurm ids); the run fills in times, ranks, threads, hosts and exit code.
  io::StartRecord start_template;
  /// Build and environment facts recorded in every file (docs/file-format.md).
  std::map<std::string, std::string> provenance;

  [[nodiscard]] std::filesystem::path checkpoint_path() const;
  [[nodiscard]] PeerTiming timing() const { return {peer_timeout}; }
  /// Seconds MPI_Finalize may take once this rank is done before the process leaves
  /// without it (a peer is dead or stopped; docs/fault-tolerance.md).
  [[nodiscard]] double finalize_bound() const { return timing().finalize_bound(); }
};

}  // namespace tally::parallel
