#include "parallel/run.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <ctime>

#include "core/kernel.hpp"
#include "io/atomic_file.hpp"
#include "io/checkpoint.hpp"
#include "io/output_paths.hpp"
#include "io/results_file.hpp"
#include "io/run_lock.hpp"
#include "io/test_hold.hpp"
#include "parallel/backoff.hpp"
#include "parallel/beside.hpp"
#include "parallel/coordinator.hpp"
#include "parallel/memory_budget.hpp"
#include "parallel/mpi.hpp"
#include "parallel/peers.hpp"
#include "parallel/protocol.hpp"
#include "parallel/rank_zero_link.hpp"
#include "parallel/transport.hpp"
#include "parallel/worker.hpp"

namespace tally::parallel {

namespace {

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

/// Rank 0's start-up: can we write the output, is no other run on it, and where do we
/// start from? Takes the run lock into `lock` (held until the run's end).
/// Throws usage (2) or checkpoint (3) Errors; returns the record to continue.
io::RunRecord prepare(const RunSettings& s, const io::CheckpointStore& store, std::vector<std::string>& notes,
                      io::RunLock& lock) {
  io::check_run_paths(s.output, store.path(), s.force);
  lock = io::RunLock({s.output, store.path(), store.previous_path()}, s.file_locking);
  // Again under the lock: a run that held it may have just finished and written the output.
  io::check_run_paths(s.output, store.path(), s.force);
  // Under all three locks no other run writes these names: temp files there were left by a
  // killed run (their names are random, so nobody else would ever reuse them).
  if (lock.held().size() == 3)
    for (const auto& file : {s.output, store.path(), store.previous_path()}) (void)io::remove_stale_temps(file);
  check_memory_budget(s.config, s.histogram, s.threads);
  io::test_hold("locked");
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
  for (auto& warning : loaded->warnings) notes.push_back(std::move(warning));
  record = std::move(loaded->record);
  record.restarts += 1;
  notes.push_back(fmt::format("resumed from {} ({} of {} chunks done, restart {})", loaded->source.string(),
                              record.ledger.done_count(), record.ledger.size(), record.restarts));
  return record;
}

/// Opens this start's row of the restart history.
void begin_start(const RunSettings& s, io::RunRecord& record, int ranks) {
  io::StartRecord start = s.start_template;
  start.start_utc = utc_now();
  start.ranks = ranks;
  start.threads = s.threads;
  start.exit_code = -1;
  record.starts.push_back(std::move(start));
  record.provenance = s.provenance;
  record.ranks = ranks;
  record.threads = s.threads;
}

/// Rank 0's finish: results file when complete, checkpoint when stopped.
ExitCode finish(const RunSettings& s, const io::CheckpointStore& store, io::RunRecord& record, ExitCode code) {
  auto& start = record.starts.back();
  start.end_utc = utc_now();
  start.hosts = io::distinct_hosts(record.rank_hosts);
  start.exit_code = int(code);
  if (code == ExitCode::kStopped) {
    record.status = "partial";
    io::test_hold("stop-write");
    store.save(record);
    return code;
  }
  const core::Kernel kernel(s.config);
  record.ledger.finish_tails(kernel, s.threads);  // the threads the user gave the run
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
  } catch (const Error& e) {
    record.status = "partial";
    start.exit_code = int(ExitCode::kFailure);
    try {
      store.save(record);  // a complete ledger: the next start only writes the file
    } catch (const Error& also) {
      // Both fail on a full disk: report the results error (the one the user asked
      // about) and the checkpoint's; the previous checkpoints are left as they were.
      if (e.code() != ExitCode::kFailure) throw;
      throw Error(ExitCode::kFailure, std::string(e.what()) + "; the finished state was not saved either (" +
                                          also.what() + ")");
    }
    throw;
  } catch (...) {
    record.status = "partial";
    start.exit_code = int(ExitCode::kFailure);
    store.save(record);
    throw;
  }
  store.remove();
  return ExitCode::kOk;
}

}  // namespace

RunOutcome run_local(const RunSettings& s) {
  const io::CheckpointStore store(s.checkpoint_path(), s.file_locking);
  const SteadyClock clock;
  RunOutcome out;
  io::RunLock lock;  // released last, after the results file is in place
  io::RunRecord record = prepare(s, store, out.notes, lock);
  begin_start(s, record, 1);
  Coordinator coordinator(s, record, store, nullptr, 1, clock);
  record.rank_hosts[0] = host_name();
  const ExitCode code = coordinator.run();
  if (code == ExitCode::kStopped) out.notes.push_back("stopped by " + coordinator.stop_reason());
  out.code = finish(s, store, record, code);
  out.record = std::move(record);
  return out;
}

RunOutcome run_mpi(const RunSettings& s, mpi::Session& session) {
  const SteadyClock clock;
  MpiTransport transport(session.comm(), clock, s.timing());
  RunOutcome out;
  if (session.rank() != 0) {
    // The verdict: [code, message]. Rank 0 may be stopped or dead: wait a bounded time,
    // the start-up allowance until its first word, then --peer-timeout since its last
    // (it heartbeats while it loads a checkpoint of any size).
    RankZeroLink link(transport, clock, s.timing(), true);
    link.send(protocol::kHello, protocol::encode_text(host_name()));
    const Message verdict = link.wait();
    if (verdict.tag != protocol::kVerdict || verdict.words.empty())
      throw Error(ExitCode::kFailure, "unexpected first message from the coordinator");
    if (const auto code = ExitCode(int(verdict.words[0])); code != ExitCode::kOk)
      throw Error(code, protocol::decode_text(verdict.words, 1));
    const WorkerEnd end = run_worker(s, transport, clock);
    out.code = end.code;
    out.skip_finalize = end.skip_finalize;
    return out;
  }

  const io::CheckpointStore store(s.checkpoint_path(), s.file_locking);
  std::optional<io::RunRecord> record;
  io::RunLock lock;  // released last, after the results file is in place
  ExitCode verdict = ExitCode::kOk;
  std::string message;
  // Loading a large checkpoint takes seconds: it runs on a helper thread while this one
  // tells the waiting workers that rank 0 is alive.
  Peers waiting(session.size(), s.timing(), clock.now());
  try {
    record = run_beside_peers([&] { return prepare(s, store, out.notes, lock); }, transport, waiting, clock, [] {});
  } catch (const Error& e) {
    verdict = e.code();
    message = e.what();
  }
  for (int r : waiting.living()) transport.send(r, protocol::kVerdict, protocol::encode_text(message, {std::uint64_t(verdict)}));
  if (verdict != ExitCode::kOk) {
    (void)transport.drain(s.peer_timeout);
    throw Error(verdict, message);
  }

  begin_start(s, *record, session.size());
  Coordinator coordinator(s, *record, store, &transport, session.size(), clock);
  record->rank_hosts[0] = host_name();
  ExitCode code = ExitCode::kFailure;
  try {
    code = coordinator.run();
  } catch (...) {
    // Unexpected on rank 0: tell the workers to end rather than leave them waiting.
    send_final_word(transport, coordinator.dispatch().peers(), {int(ExitCode::kFailure), true}, 1.0);
    throw;
  }
  out.skip_finalize = coordinator.dispatch().any_lost();
  // Workers hold nothing the files need: they end now, rank 0 writes. Rank 0's exit code
  // and the file's status are the run's verdict (docs/fault-tolerance.md).
  send_final_word(transport, coordinator.dispatch().peers(), {int(code), out.skip_finalize}, s.peer_timeout);
  if (code == ExitCode::kStopped) out.notes.push_back("stopped by " + coordinator.stop_reason());
  for (const auto& lost : record->lost)
    out.notes.push_back(fmt::format("rank {} on {} was lost ({}); its {} chunk(s) were recomputed by the others",
                                    lost.rank, lost.host.empty() ? "?" : lost.host, lost.reason,
                                    lost.chunks_reassigned));
  out.code = finish(s, store, *record, code);
  out.record = std::move(record);
  return out;
}

}  // namespace tally::parallel
