#include "app/report.hpp"

#include <fmt/core.h>

#include <map>

#include "core/statistics.hpp"

namespace tally::app {

io::Json run_json(const io::RunRecord& r, const std::string& file, int exit_code) {
  const auto& c = r.ledger.config();
  const auto& l = r.ledger;
  const auto tasks = std::size_t(c.tasks);
  const auto moments = core::sum_moments(c.range, l.total_count());
  io::Json j;
  j["status"] = r.status;
  j["exit_code"] = exit_code;
  j["file"] = file;
  j["format_version"] = r.format_version;
  j["stream"] = core::to_string(c.stream);
  j["seed"] = core::to_string(c.seed);
  j["tasks"] = c.tasks;
  j["samples"] = c.samples;
  j["lo"] = c.range.lo;
  j["hi"] = c.range.hi;
  j["chunk"] = c.chunk;
  j["config_fingerprint"] = c.fingerprint();
  j["ranks"] = r.ranks;
  j["threads"] = r.threads;
  j["wall_seconds"] = r.wall_seconds;
  j["elapsed_seconds"] = r.elapsed_seconds;
  j["restarts"] = r.restarts;
  j["chunks_done"] = l.done_count();
  j["chunks"] = l.size();
  io::Json sums = io::Json::array(), counts = io::Json::array();
  for (std::size_t t = 0; t < tasks; ++t) {
    sums.push_back(io::exact(l.task_sum(t)));
    counts.push_back(l.task_count(t));
  }
  j["task_sums"] = std::move(sums);
  j["task_counts"] = std::move(counts);
  j["total"] = io::exact(l.total_sum());
  j["count"] = l.total_count();
  j["expected_total"] = moments.mean;
  j["stddev_total"] = moments.stddev;
  j["z_score"] = moments.z_score(l.total_sum());
  io::Json timing = io::Json::array();
  for (std::size_t i = 0; i < r.rank_timing.size(); ++i) {
    const auto& t = r.rank_timing[i];
    timing.push_back({{"rank", i}, {"host", i < r.rank_hosts.size() ? r.rank_hosts[i] : ""}, {"chunks", t.chunks},
                      {"busy_seconds", t.busy_seconds}, {"numbers_per_second", t.numbers_per_second}});
  }
  j["rank_timing"] = std::move(timing);
  io::Json per_host = io::Json::object();
  for (std::size_t i = 0; i < r.rank_hosts.size(); ++i) per_host[r.rank_hosts[i]].push_back(i);
  j["ranks_per_host"] = std::move(per_host);
  io::Json starts = io::Json::array();
  for (const auto& s : r.starts)
    starts.push_back({{"start_utc", s.start_utc}, {"end_utc", s.end_utc}, {"ranks", s.ranks}, {"threads", s.threads},
                      {"hosts", s.hosts}, {"slurm_job_id", s.slurm_job_id},
                      {"slurm_array_job_id", s.slurm_array_job_id}, {"slurm_array_task_id", s.slurm_array_task_id},
                      {"slurm_step_id", s.slurm_step_id}, {"exit_code", s.exit_code},
                      {"command_line", s.command_line}, {"user", s.user}, {"kernel_path", s.kernel_path}});
  j["starts"] = std::move(starts);
  io::Json lost = io::Json::array();
  for (const auto& x : r.lost)
    lost.push_back({{"start", x.start}, {"rank", x.rank}, {"host", x.host}, {"seconds", x.seconds},
                    {"chunks_reassigned", x.chunks_reassigned}, {"reason", x.reason}});
  j["lost"] = std::move(lost);
  j["provenance"] = r.provenance;
  return j;
}

void print_run_json(const io::RunRecord& record, const std::string& file, int exit_code) {
  fmt::print("{}\n", io::dump(run_json(record, file, exit_code)));
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
  std::map<std::string, std::vector<std::size_t>> per_host;
  for (std::size_t i = 0; i < r.rank_hosts.size(); ++i) per_host[r.rank_hosts[i]].push_back(i);
  for (const auto& [host, ranks] : per_host) {
    std::string list;
    for (auto rank : ranks) {
      if (!list.empty()) list += ',';
      list += std::to_string(rank);  // appended, not "," + …: g++ 12 warns (-Wrestrict) on that
    }
    fmt::print("host          {}: rank(s) {}\n", host.empty() ? "?" : host, list);
  }
  fmt::print("time          {:.3f} s this start, {:.3f} s in all, {} restart(s)\n", r.wall_seconds,
             r.elapsed_seconds, r.restarts);
  for (std::size_t i = 0; i < r.starts.size(); ++i) {
    const auto& s = r.starts[i];
    fmt::print("start {:<7} {} .. {}  {} x {} on {}  exit {}{}{}\n", i, s.start_utc, s.end_utc.empty() ? "?" : s.end_utc,
               s.ranks, s.threads, s.hosts.empty() ? "?" : s.hosts, s.exit_code,
               s.slurm_job_id.empty() ? "" : "  slurm job " + s.slurm_job_id,
               s.kernel_path.empty() ? "" : "  kernel " + s.kernel_path);
  }
  for (const auto& x : r.lost)
    fmt::print("lost          rank {} on {} at {:.1f} s of start {} ({}); {} chunk(s) recomputed by others\n", x.rank,
               x.host.empty() ? "?" : x.host, x.seconds, x.start, x.reason, x.chunks_reassigned);
  if (const auto it = r.provenance.find("git_commit"); it != r.provenance.end())
    fmt::print("built from    tally {} git {}{} ({}, {}), kernel {}, {}\n", r.provenance.at("tally_version"),
               it->second.substr(0, 12), r.provenance.at("git_dirty") == "yes" ? " (dirty)" : "",
               r.provenance.at("build_type"), r.provenance.at("compiler"), r.provenance.at("kernel_path"),
               r.provenance.at("mpi_library"));
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
