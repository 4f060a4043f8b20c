// `tally verify FILE`: prove a results file (or checkpoint) right; exit 0 when every
// check holds, 1 when any fails (named), 2 when the file cannot be read. Under a
// launcher the chunk replay is spread over the ranks; rank 0 alone checks and reports,
// so the report is the same on any layout.
#include <fmt/core.h>

#include <algorithm>
#include <cstdio>

#include "app/commands.hpp"
#include "app/options.hpp"
#include "app/report.hpp"
#include "app/verify.hpp"
#include "core/error.hpp"
#include "parallel/beside.hpp"
#include "parallel/launcher.hpp"
#include "parallel/mpi.hpp"
#include "parallel/replay.hpp"
#include "parallel/threads.hpp"

namespace tally::app {

namespace {

struct VerifyArgs {
  std::string file;
  std::int64_t chunks = 4;
  bool all = false;
  std::uint64_t seed = 0;
  int threads = 0;
  double z_limit = 6;
  double peer_timeout = 10;
  bool json = false;
  io::FileLocking file_locking = io::FileLocking::kBestEffort;
};

VerifyOptions options_from(const VerifyArgs& a) {
  VerifyOptions o;
  if (a.chunks < 1) throw usage_error("--chunks must be at least 1 (--all recomputes every chunk)");
  o.chunks = std::uint64_t(a.chunks);
  o.all = a.all;
  o.seed = a.seed;
  o.threads = a.threads > 0 ? a.threads : parallel::default_threads();
  o.z_limit = a.z_limit;
  o.locking = a.file_locking;
  return o;
}

int report(const VerifyArgs& a, const std::vector<Check>& checks) {
  const bool passed = std::all_of(checks.begin(), checks.end(), [](const Check& c) { return c.passed; });
  if (a.json) {
    io::Json list = io::Json::array();
    for (const auto& c : checks) list.push_back({{"name", c.name}, {"passed", c.passed}, {"detail", c.detail}});
    fmt::print("{}\n", io::dump({{"file", a.file}, {"passed", passed}, {"checks", std::move(list)}}));
  } else {
    fmt::print("verify {}\n", a.file);
    for (const auto& c : checks) fmt::print("  {}  {:<26} {}\n", c.passed ? "PASS" : "FAIL", c.name, c.detail);
    fmt::print("{}\n", passed ? "all checks passed" : "VERIFICATION FAILED");
  }
  return passed ? 0 : 1;
}

/// A worker rank: replays the share rank 0 gives it, returns the code rank 0 decided.
int verify_as_worker(const parallel::ReplaySettings& rs, parallel::mpi::Session& session) {
  try {
    const parallel::SteadyClock clock;
    parallel::MpiTransport transport(session.comm(), clock, rs.timing());
    const auto end = parallel::run_replay_worker(transport, clock, rs);
    if (end.skip_finalize) session.skip_finalize();
    else session.finalize(end.code, rs.finalize_bound());
    return end.code;
  } catch (const Error& e) {
    return leave_without_peers(session, e.what(), e.code());  // rank 0 is silent or gone
  } catch (const std::exception& e) {
    return leave_without_peers(session, e.what(), ExitCode::kFailure);
  }
}

int verify_command(const VerifyArgs& a, int& argc, char**& argv) {
  VerifyOptions o = options_from(a);  // bad input: exit 2 before MPI starts
  if (!parallel::under_mpi_launcher()) return report(a, verify_file(a.file, o));

  parallel::mpi::Session session(argc, argv);
  require_matching_launcher(session);
  const parallel::ReplaySettings rs{a.file, o.locking, o.threads, a.peer_timeout};
  if (session.rank() != 0) return verify_as_worker(rs, session);

  const parallel::SteadyClock clock;
  parallel::MpiTransport transport(session.comm(), clock, rs.timing());
  parallel::ReplayCoordinator coordinator(transport, clock, session.size(), rs);
  // Reading, checking and reporting may take longer than --peer-timeout (or the start-up
  // allowance): they run on a helper thread while this (the MPI) thread keeps the
  // workers' links alive; the replay, which talks to the workers, is handed back here.
  parallel::HandOff mpi_thread;
  o.replay_chunks = [&](const core::Kernel& kernel, std::uint64_t chunks, std::span<const core::ChunkId> ids,
                        std::span<core::ChunkSum> out) {
    mpi_thread.hand_over([&] { coordinator.replay(kernel, chunks, ids, out); });
  };
  // Every way out tells the workers the exit code first (they wait for it, bounded).
  auto end = [&](int code) {
    for (const auto& note : coordinator.notes()) fmt::print(stderr, "tally: {}\n", note);
    if (coordinator.finish(code)) session.skip_finalize();
    else session.finalize(code, rs.finalize_bound());
  };
  // Rank 0 speaks (report or error line, flushed) before the workers learn the code.
  int code = int(ExitCode::kFailure);
  try {
    code = parallel::run_beside(
        [&] {
          const int verdict = report(a, verify_file(a.file, o));
          std::fflush(stdout);
          return verdict;
        },
        [&] {
          coordinator.keep_alive();
          mpi_thread.run_handed_over();
        });
  } catch (const Error& e) {
    print_error_now(e.what());
    code = int(e.code());
  } catch (const std::exception& e) {
    print_error_now(e.what());
  }
  end(code);
  return code;
}

}  // namespace

void add_verify_command(CLI::App& app, Action& action, int& argc, char**& argv) {
  auto args = std::make_shared<VerifyArgs>();
  CLI::App* cmd = app.add_subcommand("verify", "Prove a results file or checkpoint right: digest, chunk replay, sums, statistics.");
  cmd->add_option("file", args->file, "Results file or checkpoint (HDF5)")->required();
  cmd->add_option("--chunks", args->chunks, "Random done chunks to recompute (at least 1)")
      ->transform(decimal(1, INT64_MAX, "2^63-1"))->capture_default_str();
  cmd->add_flag("--all", args->all, "Recompute every done chunk");
  cmd->add_option("--seed", args->seed, "Seed of the chunk sample (default: from the clock, printed)")->transform(decimal_u64());
  cmd->add_option("--threads", args->threads, "Threads per rank for the replay (default: all available)")
      ->transform(decimal(1, parallel::kMaxThreads));
  cmd->add_option("--z-limit", args->z_limit, "Largest |z| (and chi-square normal equivalent) that passes")
      ->check(finite(1e-3, 1e6, ""))
      ->capture_default_str();
  cmd->add_option("--peer-timeout", args->peer_timeout,
                  "Under a launcher: give up on a rank after this many seconds without a message from it")
      ->check(finite(0.1, 1e6, "seconds"))
      ->capture_default_str();
  cmd->add_flag("--json", args->json, "Print one JSON object on stdout");
  add_choice(cmd, "--file-locking", args->file_locking, kFileLocking, "HDF5 file locking: on, off or best-effort");
  cmd->final_callback([&action, args, &argc, &argv] {
    action = [args, &argc, &argv] { return verify_command(*args, argc, argv); };
  });
}

}  // namespace tally::app
