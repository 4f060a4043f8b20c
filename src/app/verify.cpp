#include "app/verify.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <optional>
#include <random>

#include "core/error.hpp"
#include "core/kernel.hpp"
#include "core/statistics.hpp"
#include "io/digest.hpp"
#include "io/results_file.hpp"
#include "io/test_hold.hpp"

namespace tally::app {

namespace {

/// Upper-tail standard-normal equivalent of a chi-square statistic with k degrees of
/// freedom (Wilson–Hilferty): accurate to a few hundredths for k ≥ 3.
double chi_square_z(double statistic, double k) {
  const double c = 2.0 / (9.0 * k);
  return (std::cbrt(statistic / k) - (1.0 - c)) / std::sqrt(c);
}

Check replay(const io::RunRecord& r, const VerifyOptions& o) {
  const auto& ledger = r.ledger;
  std::vector<core::ChunkId> done;
  for (core::ChunkId id = 0; id < ledger.size(); ++id)
    if (ledger.done(id)) done.push_back(id);
  std::vector<core::ChunkId> chosen = done;
  const std::uint64_t seed =
      o.seed ? o.seed : std::uint64_t(std::chrono::steady_clock::now().time_since_epoch().count());
  if (!o.all && chosen.size() > o.chunks) {
    std::mt19937_64 rng(seed);
    std::shuffle(chosen.begin(), chosen.end(), rng);
    chosen.resize(o.chunks);
    std::sort(chosen.begin(), chosen.end());
  }
  std::vector<core::ChunkSum> sums(chosen.size());
  const core::Kernel kernel(ledger.config());
  if (o.replay_chunks) o.replay_chunks(kernel, ledger.size(), chosen, sums);
  else kernel.sum_chunks(chosen, sums, o.threads);
  std::vector<std::string> wrong;
  for (std::size_t i = 0; i < chosen.size(); ++i)
    if (sums[i] != ledger.chunk(chosen[i]))
      wrong.push_back(fmt::format("chunk {} stored {} recomputed {}", chosen[i], ledger.chunk(chosen[i]).sum, sums[i].sum));
  if (!wrong.empty()) return {"chunk replay", false, fmt::format("{} of {} replayed chunks differ: {}", wrong.size(), chosen.size(), wrong.front())};
  if (done.empty()) return {"chunk replay", true, "no chunk is done yet: nothing to recompute"};
  if (chosen.size() == done.size())
    return {"chunk replay", true,
            fmt::format("all {} done chunks recomputed from the configuration and equal: every stored chunk sum is right",
                        done.size())};
  // Say plainly what a sample proves: these chunks only. A file with one other chunk
  // altered (its task sum and the total changed to match) passes every other check.
  const double escape = double(done.size() - chosen.size()) / double(done.size());
  return {"chunk replay", true,
          fmt::format("{} of {} done chunks recomputed and equal (sample seed {}); this proves those {} only: one other "
                      "altered chunk would escape this sample with probability {:.0f}% (--all recomputes every chunk)",
                      chosen.size(), done.size(), seed, chosen.size(), 100 * escape)};
}

/// Every done chunk's sum must lie in [n·lo, n·hi] for its n values: cheap, and run on
/// every chunk (the reader refuses a file that breaks it; this says it was checked).
Check chunk_bounds(const io::RunRecord& r) {
  const auto& l = r.ledger;
  const auto& c = l.config();
  for (core::ChunkId id = 0; id < l.size(); ++id) {
    if (!l.done(id)) continue;
    const core::i128 n = core::i128(c.indices_of(id).size()) - core::i128(l.chunk(id).missing);
    if (n < 0 || l.chunk(id).sum < n * c.range.lo || l.chunk(id).sum > n * c.range.hi)
      return {"chunk bounds", false, fmt::format("chunk {} sum {} lies outside [{}·lo, {}·hi]", id, l.chunk(id).sum, n, n)};
  }
  return {"chunk bounds", true,
          fmt::format("each of the {} done chunks sums to within [n·lo, n·hi] for its n values", l.done_count())};
}

Check sums_against_chunks(const io::RunRecord& r, const io::StoredTotals& s) {
  const auto& l = r.ledger;
  const auto tasks = std::size_t(l.config().tasks);
  for (std::size_t t = 0; t < tasks; ++t) {
    if (s.task_sums[t] != l.task_sum(t))
      return {"task sums", false, fmt::format("task {} stores {} but its chunks and tail sum to {}", t, s.task_sums[t], l.task_sum(t))};
    if (s.task_counts[t] != l.task_count(t))
      return {"task sums", false, fmt::format("task {} stores count {} but its chunks hold {}", t, s.task_counts[t], l.task_count(t))};
    if (s.task_tails[t] != l.tail(t))
      return {"task sums", false, fmt::format("task {} stores tail {} but recomputing it gives {}", t, s.task_tails[t], l.tail(t))};
  }
  return {"task sums", true, fmt::format("{} task sums, counts and tails equal their chunks", tasks)};
}

Check total_against_tasks(const io::RunRecord& r, const io::StoredTotals& s) {
  const core::i128 from_tasks = std::accumulate(s.task_sums.begin(), s.task_sums.end(), core::i128{0});
  if (s.total != from_tasks || s.total != r.ledger.total_sum())
    return {"total", false, fmt::format("stored total {} but the task sums add to {}", s.total, from_tasks)};
  if (s.total_count != r.ledger.total_count())
    return {"total", false, fmt::format("stored count {} but the chunks hold {}", s.total_count, r.ledger.total_count())};
  return {"total", true, fmt::format("total {} equals the sum of the task sums", s.total)};
}

std::vector<Check> statistics(const io::RunRecord& r, const VerifyOptions& o) {
  const auto& l = r.ledger;
  const auto& c = l.config();
  std::vector<Check> out;
  double chi = 0, worst = 0;
  std::int64_t worst_task = -1, tested = 0;
  for (core::TaskId t = 0; t < core::TaskId(c.tasks); ++t) {
    if (l.task_count(t) == 0) continue;
    const double z = core::sum_moments(c.range, l.task_count(t)).z_score(l.task_sum(t));
    chi += z * z;
    ++tested;
    if (std::abs(z) > std::abs(worst)) {
      worst = z;
      worst_task = std::int64_t(t);
    }
  }
  if (c.range.span() == 1) return {{"statistics", true, "constant draws: nothing to test"}};
  out.push_back({"task z-scores", std::abs(worst) <= o.z_limit,
                 fmt::format("largest |z| {:.3f} (task {}) of {} tasks, limit {}", std::abs(worst), worst_task, tested, o.z_limit)});
  const double z_total = core::sum_moments(c.range, l.total_count()).z_score(l.total_sum());
  out.push_back({"total z-score", std::abs(z_total) <= o.z_limit, fmt::format("z = {:+.3f}, limit {}", z_total, o.z_limit)});
  if (tested >= 3) {
    const double z_chi = chi_square_z(chi, double(tested));
    out.push_back({"chi-square of task sums", z_chi <= o.z_limit,
                   fmt::format("chi2 = {:.2f} with {} degrees of freedom (normal equivalent {:+.2f}, limit {})", chi, tested, z_chi, o.z_limit)});
  }
  return out;
}

std::vector<Check> histogram(const io::RunRecord& r, const VerifyOptions& o) {
  const auto& l = r.ledger;
  const auto& c = l.config();
  const auto span = std::uint64_t(c.range.span());
  std::vector<Check> out;
  double chi = 0;
  std::uint64_t cells = 0;
  for (core::TaskId t = 0; t < core::TaskId(c.tasks); ++t) {
    std::int64_t count = 0;
    core::i128 weighted = 0;
    for (std::uint64_t j = 0; j < span; ++j) {
      const std::int64_t n = r.histogram[t * span + j];
      if (n < 0) return {{"histogram", false, fmt::format("task {} has a negative count", t)}};
      count += n;
      weighted += core::i128(n) * (core::i128(c.range.lo) + core::i128(j));
    }
    // A results file's histogram includes the tails; a checkpoint's covers its done
    // chunks only (tails are counted once, when the final file is written).
    const bool with_tail = r.status == "complete" && l.tail_done(t);
    const std::int64_t expected_count = l.task_count(t) - (l.tail_done(t) && !with_tail ? std::int64_t(l.missing(t)) : 0);
    const core::i128 expected_sum = l.task_sum(t) - (l.tail_done(t) && !with_tail ? l.tail(t) : 0);
    if (count != expected_count)
      return {{"histogram", false, fmt::format("task {} counts {} values, its sum covers {}", t, count, expected_count)}};
    if (weighted != expected_sum)
      return {{"histogram", false, fmt::format("task {}: the counts reproduce {} but the task sum is {}", t, weighted, expected_sum)}};
    if (count == 0 || span < 2) continue;
    const double e = double(count) / double(span);
    for (std::uint64_t j = 0; j < span; ++j) {
      const double d = double(r.histogram[t * span + j]) - e;
      chi += d * d / e;
    }
    cells += span - 1;
  }
  out.push_back({"histogram", true, "counts add up to the task counts and reproduce every task sum"});
  if (cells >= 3) {
    const double z = chi_square_z(chi, double(cells));
    out.push_back({"histogram uniformity", z <= o.z_limit,
                   fmt::format("chi2 = {:.1f} with {} degrees of freedom (normal equivalent {:+.2f}, limit {})", chi, cells, z, o.z_limit)});
  }
  return out;
}

}  // namespace

std::vector<Check> verify_file(const std::filesystem::path& path, const VerifyOptions& o) {
  std::vector<Check> checks;
  std::optional<io::TallyFile> file;
  io::test_hold("verify-read");
  try {
    file.emplace(io::read_tally_file(path, o.locking));
  } catch (const io::ReadError& e) {
    switch (e.problem()) {
      case io::ReadProblem::kNotAFile:
      case io::ReadProblem::kNotHdf5:
      case io::ReadProblem::kBusy:
        throw;  // nothing to verify (now): one line, exit 2
      case io::ReadProblem::kSeal:
        checks.push_back({"seal", false, e.what()});
        return checks;  // a damaged checkpoint is never parsed
      case io::ReadProblem::kDigest:
      case io::ReadProblem::kContent:
        checks.push_back({"schema", false, e.what()});
        return checks;
    }
  }
  const io::RunRecord& record = file->record;
  const io::StoredTotals& stored = file->stored;
  checks.push_back({"schema", true, fmt::format("{} format {}, {} of {} chunks done, status {}", stored.filetype,
                                                stored.format_version, record.ledger.done_count(),
                                                record.ledger.size(), record.status)});
  if (stored.filetype == "tally-checkpoint") {
    checks.push_back({"seal", file->sealed,
                      file->sealed ? "whole-file XXH3-128 in the user block matches (checked before parsing)"
                                   : "a checkpoint without a tally seal"});
    checks.push_back({"digest", file->digest_problem.empty(),
                      file->digest_problem.empty() ? "XXH3-128 of the payload matches" : file->digest_problem});
  }
  checks.push_back(chunk_bounds(record));
  checks.push_back(sums_against_chunks(record, stored));
  checks.push_back(total_against_tasks(record, stored));
  checks.push_back(replay(record, o));
  io::test_hold("verify-report");
  for (auto& c : statistics(record, o)) checks.push_back(std::move(c));
  if (!record.histogram.empty())
    for (auto& c : histogram(record, o)) checks.push_back(std::move(c));
  return checks;
}

}  // namespace tally::app
