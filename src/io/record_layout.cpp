#include "io/record_layout.hpp"

#include <fmt/core.h>

#include "core/error.hpp"
#include "core/kernel.hpp"
#include "core/statistics.hpp"
#include "core/version.hpp"

namespace tally::io {

namespace {
constexpr std::int64_t kMaxRanks = std::int64_t{1} << 24;   // anything larger is a corrupt file
constexpr std::uint64_t kMaxHistoryRows = 1u << 20;         // starts and lost ranks

template <typename T>
std::vector<core::i128> per_task(const core::Ledger& l, T (core::Ledger::*f)(core::TaskId) const) {
  std::vector<core::i128> out(std::size_t(l.config().tasks));
  for (std::size_t t = 0; t < out.size(); ++t) out[t] = core::i128((l.*f)(t));
  return out;
}

/// Exact n·(lo+hi)/2 as decimal text (".5" when it is a half).
std::string exact_half_sum(const core::Range& r, std::int64_t n) {
  const core::i128 twice = core::i128(n) * (core::i128(r.lo) + r.hi);  // |·| < 2^127
  const core::i128 whole = twice / 2;
  std::string out = fmt::format("{}", whole);
  if (twice % 2 != 0) out = (twice < 0 && whole == 0 ? "-" : "") + out + ".5";
  return out;
}

template <typename T, typename F>
std::vector<T> column(const std::vector<StartRecord>& rows, F field) {
  std::vector<T> out;
  for (const auto& r : rows) out.push_back(field(r));
  return out;
}
template <typename T, typename F>
std::vector<T> column(const std::vector<LostRank>& rows, F field) {
  std::vector<T> out;
  for (const auto& r : rows) out.push_back(field(r));
  return out;
}

void write_history(const h5::Id& file, const RunRecord& r) {
  using S = const StartRecord&;
  const auto& st = r.starts;
  h5::write_dataset(file, "starts/start_utc", column<std::string>(st, [](S s) { return s.start_utc; }));
  h5::write_dataset(file, "starts/end_utc", column<std::string>(st, [](S s) { return s.end_utc; }));
  h5::write_dataset(file, "starts/ranks", column<std::int64_t>(st, [](S s) { return s.ranks; }));
  h5::write_dataset(file, "starts/threads", column<std::int64_t>(st, [](S s) { return s.threads; }));
  h5::write_dataset(file, "starts/hosts", column<std::string>(st, [](S s) { return s.hosts; }));
  h5::write_dataset(file, "starts/slurm_job_id", column<std::string>(st, [](S s) { return s.slurm_job_id; }));
  h5::write_dataset(file, "starts/slurm_array_job_id", column<std::string>(st, [](S s) { return s.slurm_array_job_id; }));
  h5::write_dataset(file, "starts/slurm_array_task_id", column<std::string>(st, [](S s) { return s.slurm_array_task_id; }));
  h5::write_dataset(file, "starts/slurm_step_id", column<std::string>(st, [](S s) { return s.slurm_step_id; }));
  h5::write_dataset(file, "starts/exit_code", column<std::int64_t>(st, [](S s) { return s.exit_code; }));
  h5::write_dataset(file, "starts/command_line", column<std::string>(st, [](S s) { return s.command_line; }));
  h5::write_dataset(file, "starts/user", column<std::string>(st, [](S s) { return s.user; }));
  h5::write_dataset(file, "starts/kernel_path", column<std::string>(st, [](S s) { return s.kernel_path; }));
  using L = const LostRank&;
  const auto& lo = r.lost;
  h5::write_dataset(file, "lost/start", column<std::int64_t>(lo, [](L l) { return l.start; }));
  h5::write_dataset(file, "lost/rank", column<std::int64_t>(lo, [](L l) { return l.rank; }));
  h5::write_dataset(file, "lost/host", column<std::string>(lo, [](L l) { return l.host; }));
  h5::write_dataset(file, "lost/seconds", column<double>(lo, [](L l) { return l.seconds; }));
  h5::write_dataset(file, "lost/chunks_reassigned", column<std::int64_t>(lo, [](L l) { return l.chunks_reassigned; }));
  h5::write_dataset(file, "lost/reason", column<std::string>(lo, [](L l) { return l.reason; }));
}

void read_history(const h5::Id& file, RunRecord& r) {
  const auto n = h5::dataset_length(file, "starts/start_utc", kMaxHistoryRows);
  const auto start_utc = h5::read_strings(file, "starts/start_utc", n);
  const auto end_utc = h5::read_strings(file, "starts/end_utc", n);
  const auto ranks = h5::read_int64s(file, "starts/ranks", n);
  const auto threads = h5::read_int64s(file, "starts/threads", n);
  const auto hosts = h5::read_strings(file, "starts/hosts", n);
  const auto job = h5::read_strings(file, "starts/slurm_job_id", n);
  const auto array_job = h5::read_strings(file, "starts/slurm_array_job_id", n);
  const auto array_task = h5::read_strings(file, "starts/slurm_array_task_id", n);
  const auto step = h5::read_strings(file, "starts/slurm_step_id", n);
  const auto exit_code = h5::read_int64s(file, "starts/exit_code", n);
  const auto command = h5::read_strings(file, "starts/command_line", n);
  const auto user = h5::read_strings(file, "starts/user", n);
  // Files written before the kernel path was recorded per start have no such column.
  const auto kernel = h5::exists(file, "starts/kernel_path") ? h5::read_strings(file, "starts/kernel_path", n)
                                                              : std::vector<std::string>(n);
  for (std::size_t i = 0; i < n; ++i)
    r.starts.push_back({start_utc[i], end_utc[i], ranks[i], threads[i], hosts[i], job[i], array_job[i], array_task[i],
                        step[i], exit_code[i], command[i], user[i], kernel[i]});
  const auto m = h5::dataset_length(file, "lost/rank", kMaxHistoryRows);
  const auto start = h5::read_int64s(file, "lost/start", m);
  const auto rank = h5::read_int64s(file, "lost/rank", m);
  const auto host = h5::read_strings(file, "lost/host", m);
  const auto seconds = h5::read_doubles(file, "lost/seconds", m);
  const auto chunks = h5::read_int64s(file, "lost/chunks_reassigned", m);
  const auto reason = h5::read_strings(file, "lost/reason", m);
  for (std::size_t i = 0; i < m; ++i) {
    if (start[i] < 0 || std::uint64_t(start[i]) >= n || rank[i] < 1 || rank[i] >= kMaxRanks || chunks[i] < 0)
      throw Error(ExitCode::kCheckpoint, "a lost-rank row is out of range");
    r.lost.push_back({start[i], rank[i], host[i], seconds[i], chunks[i], reason[i]});
  }
}
}  // namespace

void write_record(const h5::Id& file, const RunRecord& r, const char* filetype) {
  const auto& c = r.ledger.config();
  const auto& l = r.ledger;
  h5::write_attribute(file, "filetype", std::string(filetype));
  h5::write_attribute(file, "format_version", kFormatVersion);
  h5::write_attribute(file, "tally_version", std::string(kVersion));
  h5::write_attribute(file, "config_fingerprint", c.fingerprint());
  h5::write_attribute(file, "config_text", c.canonical_text());
  h5::write_attribute(file, "status", r.status);
  h5::write_attribute(file, "stream", core::to_string(c.stream));
  h5::write_attribute(file, "seed", core::to_string(c.seed));
  h5::write_attribute(file, "tasks", c.tasks);
  h5::write_attribute(file, "samples", c.samples);
  h5::write_attribute(file, "lo", c.range.lo);
  h5::write_attribute(file, "hi", c.range.hi);
  h5::write_attribute(file, "chunk", c.chunk);
  h5::write_attribute(file, "ranks", std::int64_t{r.ranks});
  h5::write_attribute(file, "threads", std::int64_t{r.threads});
  h5::write_attribute(file, "wall_seconds", r.wall_seconds);
  h5::write_attribute(file, "elapsed_seconds", r.elapsed_seconds);
  h5::write_attribute(file, "restarts", r.restarts);
  h5::write_attribute(file, "chunks_done", std::int64_t(l.done_count()));
  h5::write_attribute(file, "total_sum", fmt::format("{}", l.total_sum()));

  h5::write_dataset(file, "tasks/sum", per_task(l, &core::Ledger::task_sum));
  std::vector<std::int64_t> counts(std::size_t(c.tasks));
  for (std::size_t t = 0; t < counts.size(); ++t) counts[t] = l.task_count(t);
  h5::write_dataset(file, "tasks/count", counts);
  h5::write_dataset(file, "tasks/tail", per_task(l, &core::Ledger::tail));

  std::vector<core::i128> sums(l.size());
  std::vector<std::int64_t> missing(l.size());
  for (core::ChunkId id = 0; id < l.size(); ++id) {
    sums[id] = l.chunk(id).sum;
    missing[id] = std::int64_t(l.chunk(id).missing);
  }
  h5::write_dataset(file, "chunks/sum", sums);
  h5::write_dataset(file, "chunks/missing", missing);
  h5::write_dataset(file, "chunks/done", l.done_flags());
  h5::write_scalar(file, "total/sum", l.total_sum());
  h5::write_scalar(file, "total/count", l.total_count());

  std::vector<std::int64_t> rank_chunks;
  std::vector<double> busy, rate;
  auto timing = r.rank_timing;
  timing.resize(std::size_t(r.ranks));  // one row per rank, as the `ranks` attribute says
  for (const auto& t : timing) {
    rank_chunks.push_back(t.chunks);
    busy.push_back(t.busy_seconds);
    rate.push_back(t.numbers_per_second);
  }
  h5::write_dataset(file, "ranks/chunks", rank_chunks);
  h5::write_dataset(file, "ranks/busy_seconds", busy);
  h5::write_dataset(file, "ranks/numbers_per_second", rate);
  auto hosts = r.rank_hosts;
  hosts.resize(std::size_t(r.ranks));
  h5::write_dataset(file, "ranks/host", hosts);
  write_history(file, r);
  h5::write_string_attributes(file, "provenance", r.provenance);

  const auto total = core::sum_moments(c.range, l.total_count());
  std::vector<double> task_z(std::size_t(c.tasks));
  for (std::size_t t = 0; t < task_z.size(); ++t)
    task_z[t] = core::sum_moments(c.range, l.task_count(t)).z_score(l.task_sum(t));
  h5::write_scalar(file, "verification/expected_total", total.mean);
  h5::write_dataset(file, "verification/expected_total_exact",
                    std::vector<std::string>{exact_half_sum(c.range, l.total_count())});
  h5::write_scalar(file, "verification/stddev_total", total.stddev);
  h5::write_scalar(file, "verification/z_score", total.z_score(l.total_sum()));
  h5::write_dataset(file, "verification/task_z_scores", task_z);

  if (!r.histogram.empty())
    h5::write_matrix(file, "histogram/counts", r.histogram, hsize_t(c.tasks), hsize_t(c.range.span()));
}

core::Config read_config(const h5::Id& file) {
  core::Config c;
  const auto stream = h5::read_string_attribute(file, "stream");
  if (stream != "fast" && stream != "numpy") throw Error(ExitCode::kCheckpoint, "unknown stream '" + stream + "'");
  c.stream = core::parse_stream(stream);
  try {
    c.seed = core::parse_u128(h5::read_string_attribute(file, "seed"), "seed");
  } catch (const Error& e) {
    throw Error(ExitCode::kCheckpoint, std::string("stored ") + e.what());
  }
  c.tasks = h5::read_int_attribute(file, "tasks");
  c.samples = h5::read_int_attribute(file, "samples");
  c.range = {h5::read_int_attribute(file, "lo"), h5::read_int_attribute(file, "hi")};
  c.chunk = h5::read_int_attribute(file, "chunk");
  if (const auto problems = c.problems(); !problems.empty())
    throw Error(ExitCode::kCheckpoint, "stored configuration is invalid: " + problems.front());
  if (h5::read_string_attribute(file, "config_fingerprint") != c.fingerprint())
    throw Error(ExitCode::kCheckpoint, "stored configuration does not match its fingerprint (tampered?)");
  return c;
}

std::int64_t read_format_version(const h5::Id& file) {
  const auto version = h5::read_int_attribute(file, "format_version");
  if (version != 1 && version != kFormatVersion)
    throw Error(ExitCode::kCheckpoint, "unsupported format_version " + std::to_string(version) +
                                           " (this tally reads 1 and " + std::to_string(kFormatVersion) + ")");
  return version;
}

std::vector<core::i128> read_sums(const h5::Id& file, const char* path, std::uint64_t expected, std::int64_t version) {
  if (version >= 2) return h5::read_int128s(file, path, expected);
  const auto narrow = h5::read_int64s(file, path, expected);
  return {narrow.begin(), narrow.end()};
}

RunRecord read_record(const h5::Id& file, std::string& filetype) {
  filetype = h5::read_string_attribute(file, "filetype");
  if (filetype != kResultsFiletype && filetype != kCheckpointFiletype)
    throw Error(ExitCode::kCheckpoint, "not a tally file (filetype '" + filetype + "')");
  const std::int64_t version = read_format_version(file);
  const core::Config c = read_config(file);
  const std::uint64_t chunks = c.chunk_count();

  const auto done = h5::read_uint8s(file, "chunks/done", chunks);
  const auto sums = read_sums(file, "chunks/sum", chunks, version);
  const auto missing = h5::read_int64s(file, "chunks/missing", chunks);
  std::vector<core::ChunkSum> chunk_sums(chunks);
  for (std::size_t i = 0; i < chunks; ++i) {
    if (missing[i] < 0 || (missing[i] > 0 && c.stream != core::StreamKind::kNumpy))
      throw Error(ExitCode::kCheckpoint, fmt::format("chunk {} claims {} rejected units, impossible for this stream",
                                                     i, missing[i]));
    chunk_sums[i] = {sums[i], std::uint64_t(missing[i])};
  }
  RunRecord r{core::Ledger::restore(c, done, chunk_sums)};
  r.format_version = version;
  r.ledger.finish_tails(core::Kernel(c));

  r.status = h5::read_string_attribute(file, "status");
  if (r.status != "complete" && r.status != "partial")
    throw Error(ExitCode::kCheckpoint, "unknown status '" + r.status + "'");
  if (r.status == "complete" && !r.ledger.complete())
    throw Error(ExitCode::kCheckpoint, "file says complete but its ledger is not");
  const auto ranks = h5::read_int_attribute(file, "ranks");
  const auto threads = h5::read_int_attribute(file, "threads");
  if (ranks < 1 || ranks > kMaxRanks || threads < 1 || threads > kMaxRanks)
    throw Error(ExitCode::kCheckpoint, "stored ranks/threads are out of range");
  r.ranks = int(ranks);
  r.threads = int(threads);
  r.wall_seconds = h5::read_double_attribute(file, "wall_seconds");
  r.elapsed_seconds = h5::read_double_attribute(file, "elapsed_seconds");
  r.restarts = h5::read_int_attribute(file, "restarts");
  if (r.restarts < 0) throw Error(ExitCode::kCheckpoint, "stored restarts is negative");

  const auto rank_chunks = h5::read_int64s(file, "ranks/chunks", std::uint64_t(ranks));
  const auto busy = h5::read_doubles(file, "ranks/busy_seconds", std::uint64_t(ranks));
  const auto rate = h5::read_doubles(file, "ranks/numbers_per_second", std::uint64_t(ranks));
  for (std::size_t i = 0; i < std::size_t(ranks); ++i) r.rank_timing.push_back({rank_chunks[i], busy[i], rate[i]});
  if (version >= 2) {
    r.rank_hosts = h5::read_strings(file, "ranks/host", std::uint64_t(ranks));
    read_history(file, r);
    r.provenance = h5::read_string_attributes(file, "provenance");
  }

  if (h5::exists(file, "histogram/counts")) {
    if (c.range.span() > core::u128{1} << 16)
      throw Error(ExitCode::kCheckpoint, "a histogram is stored for a span too wide to have one");
    r.histogram = h5::read_int64s(file, "histogram/counts", std::uint64_t(c.tasks) * std::uint64_t(c.range.span()));
  }
  return r;
}

}  // namespace tally::io
