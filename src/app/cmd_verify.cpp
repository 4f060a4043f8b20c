// `tally verify FILE`: prove a results file (or checkpoint) right; exit 0 when every
// check holds, 1 when any fails (named), 2 when the file cannot be read.
#include <fmt/core.h>

#include <algorithm>

#include "app/commands.hpp"
#include "app/report.hpp"
#include "app/verify.hpp"
#include "core/error.hpp"
#include "parallel/threads.hpp"

namespace tally::app {

void add_verify_command(CLI::App& app, Action& action) {
  struct Args {
    std::string file;
    std::uint64_t chunks = 4;
    bool all = false;
    std::uint64_t seed = 0;
    int threads = 0;
    double z_limit = 6;
    bool json = false;
    std::string file_locking = "best-effort";
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("verify", "Prove a results file or checkpoint right: digest, chunk replay, sums, statistics.");
  cmd->add_option("file", args->file, "Results file or checkpoint (HDF5)")->required();
  cmd->add_option("--chunks", args->chunks, "Random done chunks to recompute")->capture_default_str();
  cmd->add_flag("--all", args->all, "Recompute every done chunk");
  cmd->add_option("--seed", args->seed, "Seed of the chunk sample (default: from the clock, printed)");
  cmd->add_option("--threads", args->threads, "Threads for the replay (default: all available)");
  cmd->add_option("--z-limit", args->z_limit, "Largest |z| (and chi-square normal equivalent) that passes")->capture_default_str();
  cmd->add_flag("--json", args->json, "Print one JSON object on stdout");
  cmd->add_option("--file-locking", args->file_locking, "HDF5 file locking: on, off or best-effort")->capture_default_str();
  cmd->final_callback([&action, args] {
    action = [args] {
      VerifyOptions o;
      o.chunks = args->chunks;
      o.all = args->all;
      o.seed = args->seed;
      if (args->threads < 0) throw usage_error("--threads must be positive");
      o.threads = args->threads > 0 ? args->threads : parallel::default_threads();
      if (!(args->z_limit > 0)) throw usage_error("--z-limit must be positive");
      o.z_limit = args->z_limit;
      o.locking = io::parse_file_locking(args->file_locking);
      const auto checks = verify_file(args->file, o);
      const bool passed = std::all_of(checks.begin(), checks.end(), [](const Check& c) { return c.passed; });
      if (args->json) {
        io::Json list = io::Json::array();
        for (const auto& c : checks) list.push_back({{"name", c.name}, {"passed", c.passed}, {"detail", c.detail}});
        fmt::print("{}\n", io::dump({{"file", args->file}, {"passed", passed}, {"checks", std::move(list)}}));
      } else {
        fmt::print("verify {}\n", args->file);
        for (const auto& c : checks) fmt::print("  {}  {:<26} {}\n", c.passed ? "PASS" : "FAIL", c.name, c.detail);
        fmt::print("{}\n", passed ? "all checks passed" : "VERIFICATION FAILED");
      }
      return passed ? 0 : 1;
    };
  });
}

}  // namespace tally::app
