#include "app/report.hpp"

#include <fmt/core.h>

#include "core/statistics.hpp"

namespace tally::app {

std::string json_string(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      out += fmt::format("\\u{:04x}", int(c));
      continue;
    }
    out += c;
  }
  return out + "\"";
}

namespace {
template <typename F>
std::string json_array(std::size_t n, F element) {
  std::string out = "[";
  for (std::size_t i = 0; i < n; ++i) out += (i ? ", " : "") + element(i);
  return out + "]";
}
}  // namespace

std::string run_json(const io::RunRecord& r, const std::string& file, int exit_code) {
  const auto& c = r.ledger.config();
  const auto& l = r.ledger;
  const auto tasks = std::size_t(c.tasks);
  const auto moments = core::sum_moments(c.range, l.total_count());
  std::string out = "{";
  out += fmt::format("\"status\": {}, \"exit_code\": {}, \"file\": {}, ", json_string(r.status), exit_code,
                     json_string(file));
  out += fmt::format("\"stream\": {}, \"seed\": {}, \"tasks\": {}, \"samples\": {}, \"lo\": {}, \"hi\": {}, "
                     "\"chunk\": {}, \"config_fingerprint\": {}, ",
                     json_string(core::to_string(c.stream)), json_string(core::to_string(c.seed)), c.tasks,
                     c.samples, c.range.lo, c.range.hi, c.chunk, json_string(c.fingerprint()));
  out += fmt::format("\"ranks\": {}, \"threads\": {}, \"wall_seconds\": {:.6f}, \"elapsed_seconds\": {:.6f}, "
                     "\"restarts\": {}, \"chunks_done\": {}, \"chunks\": {}, ",
                     r.ranks, r.threads, r.wall_seconds, r.elapsed_seconds, r.restarts, l.done_count(), l.size());
  out += "\"task_sums\": " + json_array(tasks, [&](std::size_t t) { return fmt::format("{}", l.task_sum(t)); }) + ", ";
  out += "\"task_counts\": " + json_array(tasks, [&](std::size_t t) { return std::to_string(l.task_count(t)); }) + ", ";
  out += fmt::format("\"total\": {}, \"count\": {}, \"expected_total\": {:.17g}, \"stddev_total\": {:.17g}, "
                     "\"z_score\": {:.6f}, ",
                     l.total_sum(), l.total_count(), moments.mean, moments.stddev, moments.z_score(l.total_sum()));
  out += "\"rank_timing\": " + json_array(r.rank_timing.size(), [&](std::size_t i) {
           const auto& t = r.rank_timing[i];
           return fmt::format("{{\"rank\": {}, \"chunks\": {}, \"busy_seconds\": {:.6f}, \"numbers_per_second\": {:.6g}}}",
                              i, t.chunks, t.busy_seconds, t.numbers_per_second);
         });
  return out + "}";
}

void print_run_json(const io::RunRecord& record, const std::string& file, int exit_code) {
  fmt::print("{}\n", run_json(record, file, exit_code));
}

void print_run_summary(const io::RunRecord& r, const std::string& file, int exit_code) {
  const auto& c = r.ledger.config();
  const auto& l = r.ledger;
  const auto moments = core::sum_moments(c.range, l.total_count());
  fmt::print("================================ tally ================================\n");
  fmt::print("file          {}  ({}, exit {})\n", file, r.status, exit_code);
  fmt::print("workload      {} tasks x {} draws in [{}, {}], stream {}, seed {}\n", c.tasks, c.samples, c.range.lo,
             c.range.hi, core::to_string(c.stream), core::to_string(c.seed));
  fmt::print("layout        {} rank(s) x {} thread(s), chunk {} ({} of {} chunks done)\n", r.ranks, r.threads,
             c.chunk, l.done_count(), l.size());
  fmt::print("time          {:.3f} s this start, {:.3f} s in all, {} restart(s)\n", r.wall_seconds,
             r.elapsed_seconds, r.restarts);
  fmt::print("------------------------------- results -------------------------------\n");
  const auto shown = std::min<std::int64_t>(c.tasks, 16);
  for (std::int64_t t = 0; t < shown; ++t)
    fmt::print("task {:<8} {:>24}   ({} draws)\n", t, l.task_sum(std::uint64_t(t)), l.task_count(std::uint64_t(t)));
  if (shown < c.tasks) fmt::print("… {} more tasks (tally inspect --json lists all)\n", c.tasks - shown);
  fmt::print("total         {:>24}   ({} draws)\n", l.total_sum(), l.total_count());
  fmt::print("expected      {:>24.1f}   z-score {:+.3f}\n", moments.mean, moments.z_score(l.total_sum()));
  fmt::print("=======================================================================\n");
}

}  // namespace tally::app
