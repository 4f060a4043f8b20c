#include "parallel/coordinator.hpp"

#include <fmt/core.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "parallel/backoff.hpp"
#include "parallel/beside.hpp"
#include "parallel/signals.hpp"

namespace tally::parallel {

namespace {
// Rank 0 computes in small batches when it has workers, so it answers them within
// a few milliseconds; alone it takes the scheduler's full size.
constexpr std::uint64_t kOwnBatchDrawsPerThread = std::uint64_t{1} << 21;
constexpr double kAnswerEvery = 0.002;  // seconds between answer_workers() while rank 0 computes

/// Test-only: seconds every checkpoint write is held before it starts
/// (TALLY_TEST_CHECKPOINT_DELAY), to show that a write of any length keeps the workers.
double test_checkpoint_delay() {
  const char* text = std::getenv("TALLY_TEST_CHECKPOINT_DELAY");
  if (text == nullptr) return 0;
  char* end = nullptr;
  const double seconds = std::strtod(text, &end);
  return end != text && seconds > 0 && seconds < 3600 ? seconds : 0;
}

DispatchOptions dispatch_options(const RunSettings& s, const io::RunRecord& record) {
  DispatchOptions o;
  o.threads = std::max(s.threads, 1);
  o.timing = s.timing();
  o.histogram = s.histogram;
  o.start = record.starts.empty() ? 0 : std::int64_t(record.starts.size()) - 1;
  return o;
}
}  // namespace

Coordinator::Coordinator(const RunSettings& settings, io::RunRecord& record, const io::CheckpointStore& store,
                         Transport* transport, int ranks, const Clock& clock)
    : settings_(settings),
      record_(record),
      store_(store),
      transport_(transport),
      ranks_(ranks),
      clock_(clock),
      kernel_(settings.config),
      dispatch_(record, ranks, dispatch_options(settings, record), clock.now()),
      progress_(settings.progress, settings.progress_interval, settings.config.total_samples(),
                dispatch_.done_draws()),
      start_(clock.now()),
      last_checkpoint_(start_),
      last_answered_(start_),
      elapsed_before_(record.elapsed_seconds),
      time_limit_(settings.max_seconds, start_, dispatch_.done_draws()) {}

void Coordinator::check_stop() {
  if (dispatch_.stopping()) return;
  if (int s = stop_signal()) {
    dispatch_.stop(signal_name(s) + " on rank 0");
  } else if (time_limit_.reached(clock_.now(), dispatch_.done_draws())) {
    dispatch_.stop(fmt::format("--max-seconds {}", settings_.max_seconds));
  }
}

void Coordinator::answer_workers() {
  last_answered_ = clock_.now();
  if (transport_ == nullptr) return;
  while (auto m = transport_->poll()) dispatch_.on_message(m->source, m->tag, m->words, clock_.now());
  for (const auto& f : transport_->failures()) {
    dispatch_.on_peer_failed(f.rank, f.why, clock_.now());
    transport_->abandon(f.rank);
  }
  dispatch_.on_time(clock_.now());
  for (auto& out : dispatch_.take_outgoing()) {
    if (dispatch_.lost(out.dest) && out.tag != protocol::kFinal && out.tag != protocol::kAssign) continue;
    transport_->send(out.dest, out.tag, std::move(out.words));
  }
}

void Coordinator::answer_workers_if_due() {
  if (clock_.now() - last_answered_ >= kAnswerEvery) answer_workers();
}

void Coordinator::checkpoint_if_due() {
  if (settings_.checkpoint_every <= 0) return;
  const double now = clock_.now();
  if (now - last_checkpoint_ < settings_.checkpoint_every) return;
  record_.wall_seconds = now - start_;
  record_.elapsed_seconds = elapsed_before_ + record_.wall_seconds;  // a crash after this keeps it
  if (!record_.starts.empty()) record_.starts.back().hosts = io::distinct_hosts(record_.rank_hosts);
  write_checkpoint();
  last_checkpoint_ = clock_.now();  // the interval counts from the end of the write
  time_limit_.note_write(last_checkpoint_ - now);
}

void Coordinator::write_checkpoint() {
  const double delay = test_checkpoint_delay();
  auto write = [this, delay] {
    if (delay > 0) std::this_thread::sleep_for(std::chrono::duration<double>(delay));
    store_.save(record_);
  };
  if (transport_ == nullptr) return write();
  // A large ledger takes seconds to write (docs/performance.md). The write runs on a
  // helper thread while this one keeps every link alive: heartbeats out, and messages
  // and failures taken in but held, not handled (the record must not change under the
  // writer), so that a write of any length never looks like a dead coordinator and a
  // worker's result send completes.
  struct Held {
    std::optional<Message> message;
    std::optional<PeerFailure> failure;
    double seen;
  };
  std::vector<Held> held;
  run_beside_peers(write, *transport_, dispatch_.peers(), clock_, [&] {
    while (auto m = transport_->poll()) held.push_back({std::move(*m), std::nullopt, clock_.now()});
    for (auto& f : transport_->failures()) {
      transport_->abandon(f.rank);
      held.push_back({std::nullopt, std::move(f), clock_.now()});
    }
  });  // rethrows the write's error, if any
  for (const auto& h : held) {
    if (h.message) dispatch_.on_message(h.message->source, h.message->tag, h.message->words, h.seen);
    if (h.failure) dispatch_.on_peer_failed(h.failure->rank, h.failure->why, h.seen);
  }
}

ExitCode Coordinator::run() {
  const std::uint64_t own_cap =
      (ranks_ > 1 ? kOwnBatchDrawsPerThread : Scheduler::kMaxBatchDrawsPerThread) * std::uint64_t(std::max(settings_.threads, 1));
  // Between pieces of rank 0's own batch: stop requests, and the workers' messages
  // (also threads-only: a stop is honoured within a piece, whatever --chunk is).
  const core::Kernel::BetweenPieces between = [this] {
    check_stop();
    answer_workers_if_due();
    return !dispatch_.stopping();
  };
  int idle_rounds = 0;
  for (;;) {
    check_stop();
    answer_workers();
    if (auto batch = dispatch_.next_own_batch(own_cap)) {
      idle_rounds = 0;
      const auto computed = compute_batch(kernel_, *batch, settings_.threads, settings_.histogram, between);
      if (!computed) {  // stopping: its chunks stay pending in the checkpoint
        dispatch_.abandon_own(*batch);
        continue;
      }
      const BatchResult& result = *computed;
      auto& timing = record_.rank_timing[0];
      timing.busy_seconds += result.busy_seconds;
      timing.chunks += std::int64_t(result.batch.count);
      own_draws_ += result.draws;
      timing.numbers_per_second = timing.busy_seconds > 0 ? double(own_draws_) / timing.busy_seconds : 0.0;
      dispatch_.absorb_own(result);
      progress_.update(dispatch_.done_draws());
      checkpoint_if_due();
      continue;
    }
    if (dispatch_.finished()) break;
    checkpoint_if_due();
    progress_.update(dispatch_.done_draws());
    idle_pause(idle_rounds);
  }
  progress_.finish(dispatch_.done_draws());
  record_.wall_seconds = clock_.now() - start_;
  record_.elapsed_seconds = elapsed_before_ + record_.wall_seconds;
  if (dispatch_.stopping() && !record_.ledger.complete()) return ExitCode::kStopped;
  if (!record_.ledger.complete())
    throw Error(ExitCode::kFailure, "internal error: the run ended with chunks neither done nor pending");
  return ExitCode::kOk;
}

}  // namespace tally::parallel
