#pragma once
// RunRecord: everything a results file or a checkpoint holds about a run. Task sums,
// counts, the total and the verification numbers are derived from the ledger when
// written, never kept twice.
#include <cstdint>
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

struct RunRecord {
  explicit RunRecord(core::Ledger l) : ledger(std::move(l)) {}

  core::Ledger ledger;                 ///< holds the Config too
  std::string status = "partial";      ///< "complete" or "partial"
  int ranks = 1;
  int threads = 1;
  double wall_seconds = 0;             ///< this start
  double elapsed_seconds = 0;          ///< all starts of the run together
  std::int64_t restarts = 0;           ///< how many times the run was resumed
  std::vector<RankTiming> rank_timing; ///< one per rank of this start
  /// Per-task value counts (tasks × span), empty unless the run was asked for them.
  std::vector<std::int64_t> histogram;
};

}  // namespace tally::io
