// `tally run`: parse → validate → run (threads only, or MPI under a launcher) → write
// → report → exit code. Reads like the story of a run; the work is in src/parallel.
#include <fmt/core.h>

#include <cstdio>

#include <limits>
#include <memory>

#include "app/commands.hpp"
#include "app/options.hpp"
#include "app/provenance.hpp"
#include "app/report.hpp"
#include "core/error.hpp"
#include "core/histogram.hpp"
#include "parallel/launcher.hpp"
#include "parallel/mpi.hpp"
#include "parallel/run.hpp"
#include "parallel/signals.hpp"
#include "parallel/threads.hpp"

namespace tally::app {

namespace {

struct RunArgs {
  std::int64_t tasks = 8;
  std::int64_t samples = 1'000'000;
  std::string range = "1:100";
  std::string seed = "0";
  core::StreamKind stream = core::StreamKind::kFast;
  std::int64_t chunk = core::Config::kDefaultChunk;
  int threads = 0;  // not given: parallel::default_threads()
  bool json = false;
  bool force_mpi = false;
  std::string output = "tally-results.h5";
  bool force = false;
  bool quiet = false;
  double progress_interval = 10;
  std::string checkpoint;
  double checkpoint_every = 60;
  parallel::ResumePolicy resume = parallel::ResumePolicy::kAuto;
  double max_seconds = 0;
  double peer_timeout = 10;
  io::FileLocking file_locking = io::FileLocking::kBestEffort;
  bool histogram = false;
};

core::Range parse_range(const std::string& text) {
  const auto colon = text.find(':', text.empty() ? 0 : 1);  // "-5:5": skip a leading minus
  if (colon == std::string::npos) throw usage_error("--range must be LO:HI, e.g. 1:100, not '" + text + "'");
  auto number = [&](const std::string& part) {
    std::size_t used = 0;
    long long value = 0;
    try {
      value = std::stoll(part, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (part.empty() || used != part.size())
      throw usage_error("--range must be LO:HI with 64-bit integers, not '" + text + "'");
    return std::int64_t(value);
  };
  return {number(text.substr(0, colon)), number(text.substr(colon + 1))};
}

// The options' own bounds were checked while parsing (add_run_command); what is left
// are the rules that involve several of them (Config::validate) and the histogram's.
parallel::RunSettings settings_from(const RunArgs& a) {
  parallel::RunSettings s;
  s.config.tasks = a.tasks;
  s.config.samples = a.samples;
  s.config.range = parse_range(a.range);
  s.config.seed = core::parse_u128(a.seed, "--seed");
  s.config.stream = a.stream;
  s.config.chunk = a.chunk;
  s.config.validate();
  s.threads = a.threads > 0 ? a.threads : parallel::default_threads();
  if (a.output.empty()) throw usage_error("--output must name a file");
  s.output = a.output;
  s.force = a.force;
  s.checkpoint = a.checkpoint;
  s.checkpoint_every = a.checkpoint_every;
  s.resume = a.resume;
  s.max_seconds = a.max_seconds;
  s.peer_timeout = a.peer_timeout;
  s.file_locking = a.file_locking;
  s.progress = a.quiet || a.json ? parallel::Progress::Mode::kOff : parallel::Progress::Mode::kAuto;
  s.progress_interval = a.progress_interval;
  s.histogram = a.histogram;
  if (s.histogram) {
    if (const auto problem = core::histogram_problem(s.config); !problem.empty()) throw usage_error(problem);
  }
  return s;
}

int report(const RunArgs& a, const parallel::RunSettings& s, const parallel::RunOutcome& out) {
  for (const auto& note : out.notes) fmt::print(stderr, "tally: {}\n", note);
  if (out.record) {
    if (a.json) print_run_json(*out.record, s.output.string(), int(out.code));
    else if (!a.quiet) print_run_summary(*out.record, s.output.string(), int(out.code));
  }
  if (out.code == ExitCode::kStopped)
    fmt::print(stderr, "tally: stopped at a checkpoint ({}); run the same command again to resume\n",
               s.checkpoint_path().string());
  return int(out.code);
}

int run_command(const RunArgs& a, int& argc, char**& argv) {
  parallel::RunSettings s = settings_from(a);  // bad input: exit 2 before MPI starts
  s.start_template = start_template(argc, argv);
  parallel::install_stop_handlers();
  if (!a.force_mpi && !parallel::under_mpi_launcher()) {
    s.provenance = collect_provenance("none (threads only)");
    return report(a, s, parallel::run_local(s));
  }

  parallel::mpi::Session session(argc, argv);
  // A launcher of another MPI (mpirun for an MPICH build, srun --mpi=pmix or Hydra for
  // a library that does not speak its protocol) starts N singletons that would each
  // compute everything and race on one output file: refuse before any work.
  require_matching_launcher(session);
  s.provenance = collect_provenance(parallel::mpi::library_version());
  parallel::RunOutcome out;
  try {
    out = parallel::run_mpi(s, session);
  } catch (const Error& e) {
    // Errors of the shared start-up verdict reach every rank alike: rank 0 reports.
    if (e.code() == ExitCode::kUsage || e.code() == ExitCode::kCheckpoint) {
      if (session.rank() == 0) print_error_now(e.what());
      session.finalize(int(e.code()), s.finalize_bound());
      return int(e.code());
    }
    // Anything later: under a launcher that ends the job, the next start resumes.
    return leave_without_peers(session, e.what(), e.code());
  } catch (const std::exception& e) {
    return leave_without_peers(session, e.what(), ExitCode::kFailure);
  }
  const int code = session.rank() == 0 ? report(a, s, out) : int(out.code);
  if (out.skip_finalize) session.skip_finalize();
  else session.finalize(code, s.finalize_bound());
  return code;
}

}  // namespace

void print_error_now(const char* message) {
  fmt::print(stderr, "tally: error: {}\n", message);
  std::fflush(stderr);
}

int leave_without_peers(parallel::mpi::Session& session, const char* message, ExitCode code) {
  fmt::print(stderr, "tally: error (rank {}): {}\n", session.rank(), message);
  session.skip_finalize();
  return int(code);
}

void require_matching_launcher(const parallel::mpi::Session& session) {
  if (const int launched = parallel::launcher_size(); launched > 1 && session.size() != launched)
    throw usage_error(fmt::format(
        "the launcher started {} processes but MPI sees {} ({}): the launcher does not match the MPI tally "
        "was built with (an MPICH build needs mpiexec.mpich or srun --mpi=pmi2; docs/parallel.md)",
        launched, session.size(), parallel::mpi::library_version()));
}

void add_run_command(CLI::App& app, Action& action, int& argc, char**& argv) {
  auto args = std::make_shared<RunArgs>();
  CLI::App* run = app.add_subcommand("run", "Draw and sum the random integers; write the results file.");
  constexpr auto kInt64Max = std::numeric_limits<std::int64_t>::max();
  run->add_option("--tasks", args->tasks, "Number of tasks (independent streams)")
      ->transform(decimal(1, kInt64Max, "2^63-1"))
      ->capture_default_str();
  run->add_option("--samples", args->samples, "Draws per task")
      ->transform(decimal(1, kInt64Max, "2^63-1"))
      ->capture_default_str();
  run->add_option("--range", args->range, "Inclusive range LO:HI of the draws, decimal 64-bit integers")
      ->capture_default_str();
  run->add_option("--seed", args->seed, "Seed, decimal or 0x-hex, below 2^128")->capture_default_str();
  add_choice(run, "--stream", args->stream, kStreams,
             "fast (tally's SIMD Philox stream) or numpy (bit-exact with NumPy)");
  run->add_option("--chunk", args->chunk, "Draws per chunk: the unit of scheduling, checkpoints and audit")
      ->transform(decimal(1, core::Config::kMaxChunk, "2^40"))
      ->capture_default_str();
  run->add_option("--threads", args->threads,
                  "OpenMP threads per rank (default: OMP_NUM_THREADS, SLURM_CPUS_PER_TASK, or the CPUs allowed)")
      ->transform(decimal(1, parallel::kMaxThreads));
  run->add_flag("--json", args->json, "Print one JSON object with the results on stdout");
  run->add_flag("--mpi", args->force_mpi, "Initialise MPI even without a launcher");
  run->add_option("--output,-o", args->output, "Results file (HDF5)")->capture_default_str();
  run->add_flag("--force", args->force, "Overwrite an existing results file; allow --resume never to discard a checkpoint");
  run->add_flag("--quiet,-q", args->quiet, "No progress and no summary");
  run->add_option("--progress-interval", args->progress_interval, "Seconds between progress lines when not on a terminal")
      ->check(finite(0.1, 1e6, "seconds"))
      ->capture_default_str();
  run->add_option("--checkpoint", args->checkpoint, "Checkpoint file (default: OUTPUT.ckpt)");
  run->add_option("--checkpoint-every", args->checkpoint_every, "Seconds between checkpoints; 0 = only when stopping")
      ->check(finite(0.1, 1e9, "seconds", "only when stopping"))
      ->capture_default_str();
  add_choice(run, "--resume", args->resume, kResumePolicies,
             "auto (resume when a checkpoint exists), require, or never");
  run->add_option("--max-seconds", args->max_seconds, "Stop at a checkpoint after this many seconds (exit 85); 0 = no limit")
      ->check(finite(0.001, 1e9, "seconds", "no limit"))
      ->capture_default_str();
  run->add_option("--peer-timeout", args->peer_timeout, "Give up after this many seconds without a message from a rank")
      ->check(finite(0.1, 1e6, "seconds"))
      ->capture_default_str();
  add_choice(run, "--file-locking", args->file_locking, kFileLocking, "HDF5 file locking: on, off or best-effort");
  run->add_flag("--histogram", args->histogram, "Also count each value per task (small spans only)");
  run->final_callback([&action, args, &argc, &argv] { action = [args, &argc, &argv] { return run_command(*args, argc, argv); }; });
}

}  // namespace tally::app
