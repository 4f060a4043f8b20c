#pragma once
// RunRecord: everything a results file or a checkpoint holds about a run. Task sums,
// counts, the total and the verification numbers are derived from the ledger when
// written, never kept twice.
#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/ledger.hpp"

namespace tally::io {

struct RankTiming {
  std::int64_t chunks = 0;          ///< chunks this rank computed in this start
  double busy_seconds = 0;          ///< time spent in the kernel
  double numbers_per_second = 0;    ///< draws per busy second
};

/// One start of a run (the first, or a resume): the restart history.
struct StartRecord {
  std::string start_utc, end_utc;  ///< ISO-8601, "YYYY-MM-DDTHH:MM:SSZ"
  std::int64_t ranks = 1, threads = 1;
  std::string hosts;               ///< distinct host names in rank order, comma-separated
  std::string slurm_job_id, slurm_array_job_id, slurm_array_task_id, slurm_step_id;
  std::int64_t exit_code = -1;     ///< 0 complete, 85 stopped, 1 failed, -1 still running
  std::string command_line, user;
  std::string kernel_path;         ///< the kernel path rank 0 ran ("avx2", …); empty in older files
};

/// A worker declared lost in-job; its outstanding chunks went to the living ranks.
struct LostRank {
  std::int64_t start = 0, rank = 0;  ///< start: index into RunRecord::starts
  std::string host;
  double seconds = 0;                ///< since that start
  std::int64_t chunks_reassigned = 0;
  std::string reason;                ///< e.g. "silent for 12.0 s", "MPI error: …"
};

/// Distinct host names in rank order, comma-separated (StartRecord::hosts).
inline std::string distinct_hosts(const std::vector<std::string>& rank_hosts) {
  std::string out;
  std::vector<std::string> seen;
  for (const auto& h : rank_hosts) {
    if (h.empty() || std::find(seen.begin(), seen.end(), h) != seen.end()) continue;
    seen.push_back(h);
    out += (out.empty() ? "" : ",") + h;
  }
  return out;
}

struct RunRecord {
  explicit RunRecord(core::Ledger l) : ledger(std::move(l)) {}

  core::Ledger ledger;                 ///< holds the Config too
  std::int64_t format_version = 2;     ///< of the file it was read from (written: always the newest)
  std::string status = "partial";      ///< "complete" or "partial"
  int ranks = 1;
  int threads = 1;
  double wall_seconds = 0;             ///< this start
  double elapsed_seconds = 0;          ///< all starts of the run together
  std::int64_t restarts = 0;           ///< how many times the run was resumed
  std::vector<RankTiming> rank_timing; ///< one per rank of this start
  /// Per-task value counts (tasks × span), empty unless the run was asked for them.
  std::vector<std::int64_t> histogram;
  std::vector<std::string> rank_hosts;  ///< one per rank of this start
  std::vector<StartRecord> starts;      ///< whole history, the current start last
  std::vector<LostRank> lost;
  std::map<std::string, std::string> provenance;
};

}  // namespace tally::io
