#include "io/record_layout.hpp"

#include "core/error.hpp"
#include "core/kernel.hpp"
#include "core/statistics.hpp"
#include "core/version.hpp"

namespace tally::io {

namespace {
constexpr std::int64_t kMaxRanks = std::int64_t{1} << 24;  // anything larger is a corrupt file

// Format 1 stores sums as int64; Config still refuses runs whose sums could leave it.
template <typename T>
std::vector<std::int64_t> per_task(const core::Ledger& l, T (core::Ledger::*f)(core::TaskId) const) {
  std::vector<std::int64_t> out(std::size_t(l.config().tasks));
  for (std::size_t t = 0; t < out.size(); ++t) out[t] = std::int64_t((l.*f)(t));
  return out;
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

  std::vector<std::int64_t> tails(std::size_t(c.tasks));
  for (std::size_t t = 0; t < tails.size(); ++t) tails[t] = std::int64_t(l.tail(t));
  h5::write_dataset(file, "tasks/sum", per_task(l, &core::Ledger::task_sum));
  h5::write_dataset(file, "tasks/count", per_task(l, &core::Ledger::task_count));
  h5::write_dataset(file, "tasks/tail", tails);

  std::vector<std::int64_t> sums(l.size()), missing(l.size());
  for (core::ChunkId id = 0; id < l.size(); ++id) {
    sums[id] = std::int64_t(l.chunk(id).sum);
    missing[id] = std::int64_t(l.chunk(id).missing);
  }
  h5::write_dataset(file, "chunks/sum", sums);
  h5::write_dataset(file, "chunks/missing", missing);
  h5::write_dataset(file, "chunks/done", l.done_flags());
  h5::write_scalar(file, "total/sum", std::int64_t(l.total_sum()));
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

  const auto total = core::sum_moments(c.range, l.total_count());
  std::vector<double> task_z(std::size_t(c.tasks));
  for (std::size_t t = 0; t < task_z.size(); ++t)
    task_z[t] = core::sum_moments(c.range, l.task_count(t)).z_score(l.task_sum(t));
  h5::write_scalar(file, "verification/expected_total", total.mean);
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

RunRecord read_record(const h5::Id& file, std::string& filetype) {
  filetype = h5::read_string_attribute(file, "filetype");
  if (filetype != kResultsFiletype && filetype != kCheckpointFiletype)
    throw Error(ExitCode::kCheckpoint, "not a tally file (filetype '" + filetype + "')");
  if (const auto version = h5::read_int_attribute(file, "format_version"); version != kFormatVersion)
    throw Error(ExitCode::kCheckpoint, "unsupported format_version " + std::to_string(version));
  const core::Config c = read_config(file);
  const std::uint64_t chunks = c.chunk_count();

  const auto done = h5::read_uint8s(file, "chunks/done", chunks);
  const auto sums = h5::read_int64s(file, "chunks/sum", chunks);
  const auto missing = h5::read_int64s(file, "chunks/missing", chunks);
  std::vector<core::ChunkSum> chunk_sums(chunks);
  for (std::size_t i = 0; i < chunks; ++i) chunk_sums[i] = {sums[i], std::uint64_t(missing[i])};
  RunRecord r{core::Ledger::restore(c, done, chunk_sums)};
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

  if (h5::exists(file, "histogram/counts")) {
    if (c.range.span() > core::u128{1} << 16)
      throw Error(ExitCode::kCheckpoint, "a histogram is stored for a span too wide to have one");
    r.histogram = h5::read_int64s(file, "histogram/counts", std::uint64_t(c.tasks) * std::uint64_t(c.range.span()));
  }
  return r;
}

}  // namespace tally::io
