#include "parallel/run.hpp"

#include <fmt/core.h>

#include <chrono>
#include <cstring>

#include "core/kernel.hpp"
#include "io/checkpoint.hpp"
#include "io/results_file.hpp"
#include "parallel/coordinator.hpp"
#include "parallel/mpi.hpp"
#include "parallel/worker.hpp"

namespace tally::parallel {

ResumePolicy parse_resume_policy(const std::string& text) {
  if (text == "auto") return ResumePolicy::kAuto;
  if (text == "require") return ResumePolicy::kRequire;
  if (text == "never") return ResumePolicy::kNever;
  throw usage_error("--resume must be auto, require or never, not '" + text + "'");
}

std::filesystem::path RunSettings::checkpoint_path() const {
  if (!checkpoint.empty()) return checkpoint;
  auto path = output;
  path += ".ckpt";
  return path;
}

namespace {

/// Rank 0's start-up: can we write the output, and where do we start from?
/// Throws usage (2) or checkpoint (3) Errors; returns the record to continue.
io::RunRecord prepare(const RunSettings& s, const io::CheckpointStore& store, std::vector<std::string>& notes) {
  io::check_results_path(s.output, s.force);
  io::RunRecord record{core::Ledger(s.config)};
  if (s.resume == ResumePolicy::kNever) {
    if (store.exists() && !s.force)
      throw usage_error(fmt::format("checkpoint {} exists and --resume never would discard it; remove it or add --force",
                                    store.path().string()));
    return record;
  }
  auto loaded = store.load(s.config);
  if (!loaded) {
    if (s.resume == ResumePolicy::kRequire)
      throw Error(ExitCode::kCheckpoint,
                  fmt::format("--resume require: no checkpoint at {}", store.path().string()));
    return record;
  }
  if (loaded->record.histogram.empty() == s.histogram)
    throw Error(ExitCode::kCheckpoint,
                fmt::format("checkpoint {} was written {} --histogram; run with the same choice",
                            loaded->source.string(), s.histogram ? "without" : "with"));
  for (auto& w : loaded->warnings) notes.push_back(std::move(w));
  record = std::move(loaded->record);
  record.restarts += 1;
  notes.push_back(fmt::format("resumed from {} ({} of {} chunks done, restart {})", loaded->source.string(),
                              record.ledger.done_count(), record.ledger.size(), record.restarts));
  return record;
}

/// Rank 0's finish: results file when complete, checkpoint when stopped.
ExitCode finish(const RunSettings& s, const io::CheckpointStore& store, io::RunRecord& record, ExitCode code,
                int threads_used) {
  record.threads = threads_used;
  record.elapsed_seconds += record.wall_seconds;
  if (code == ExitCode::kStopped) {
    record.status = "partial";
    store.save(record);
    return code;
  }
  const core::Kernel kernel(s.config);
  record.ledger.finish_tails(kernel);
  record.status = "complete";
  try {
    if (record.histogram.empty()) {
      io::write_results(s.output, record, s.force, s.file_locking);
    } else {
      // Tail values join the histogram only in the file: a checkpoint's counts must
      // stay those of its done chunks, or a resumed run would count the tails twice.
      io::RunRecord with_tails = record;
      const auto span = std::uint64_t(s.config.range.span());
      for (core::TaskId t = 0; t < core::TaskId(s.config.tasks); ++t)
        kernel.count_tail(t, record.ledger.missing(t), std::span(with_tails.histogram).subspan(t * span, span));
      io::write_results(s.output, with_tails, s.force, s.file_locking);
    }
  } catch (...) {
    record.status = "partial";
    store.save(record);  // a complete ledger: the next start only writes the file
    throw;
  }
  store.remove();
  return ExitCode::kOk;
}

struct Verdict {
  ExitCode code = ExitCode::kOk;
  std::string message;
};

/// Shares rank 0's verdict so every rank exits the same way, and only rank 0 prints.
Verdict share(Verdict v, MPI_Comm comm) {
  int header[2] = {int(v.code), int(v.message.size())};
  MPI_Bcast(header, 2, MPI_INT, 0, comm);
  v.code = ExitCode(header[0]);
  v.message.resize(std::size_t(header[1]));
  if (header[1] > 0) MPI_Bcast(v.message.data(), header[1], MPI_CHAR, 0, comm);
  return v;
}

}  // namespace

RunOutcome run_local(const RunSettings& s) {
  const io::CheckpointStore store(s.checkpoint_path(), s.file_locking);
  RunOutcome out;
  io::RunRecord record = prepare(s, store, out.notes);
  record.ranks = 1;
  Coordinator coordinator(s, record, store, MPI_COMM_NULL, 1);
  out.code = finish(s, store, record, coordinator.run(), s.threads);
  if (out.code == ExitCode::kStopped) out.notes.push_back("stopped by " + coordinator.stop_reason());
  out.record = std::move(record);
  return out;
}

RunOutcome run_mpi(const RunSettings& s, const mpi::Session& session) {
  const MPI_Comm comm = session.comm();
  RunOutcome out;
  if (session.rank() != 0) {
    const Verdict v = share({}, comm);
    if (v.code != ExitCode::kOk) throw Error(v.code, v.message);
    out.code = run_worker(s, comm);
    return out;
  }

  const io::CheckpointStore store(s.checkpoint_path(), s.file_locking);
  std::optional<io::RunRecord> record;
  Verdict verdict;
  try {
    record = prepare(s, store, out.notes);
  } catch (const Error& e) {
    verdict = {e.code(), e.what()};
  }
  share(verdict, comm);
  if (verdict.code != ExitCode::kOk) throw Error(verdict.code, verdict.message);

  record->ranks = session.size();
  // An error from here on is unexpected; the caller aborts the job (workers may be mid-batch).
  Coordinator coordinator(s, *record, store, comm, session.size());
  ExitCode code = coordinator.run();
  if (code == ExitCode::kStopped) out.notes.push_back("stopped by " + coordinator.stop_reason());
  code = finish(s, store, *record, code, s.threads);
  const std::uint64_t final_code = std::uint64_t(code);
  for (int r = 1; r < session.size(); ++r) mpi::send({&final_code, 1}, r, mpi::kFinal, comm);
  out.code = code;
  out.record = std::move(record);
  return out;
}

}  // namespace tally::parallel
