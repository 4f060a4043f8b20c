#include "parallel/coordinator.hpp"

#include <fmt/core.h>

#include <csignal>
#include <cstring>

#include "parallel/backoff.hpp"
#include "parallel/mpi.hpp"
#include "parallel/protocol.hpp"
#include "parallel/signals.hpp"

namespace tally::parallel {

namespace {
std::string signal_name(int s) {
  switch (s) {
    case SIGTERM: return "SIGTERM";
    case SIGINT: return "SIGINT";
    case SIGUSR1: return "SIGUSR1";
    case SIGUSR2: return "SIGUSR2";
    default: return "signal " + std::to_string(s);
  }
}
// Rank 0 computes in small batches when it has workers, so it answers them within
// a few milliseconds; alone it takes the scheduler's full size.
constexpr std::uint64_t kOwnBatchDrawsPerThread = std::uint64_t{1} << 21;
}  // namespace

Coordinator::Coordinator(const RunSettings& settings, io::RunRecord& record, const io::CheckpointStore& store,
                         MPI_Comm comm, int ranks)
    : settings_(settings),
      record_(record),
      store_(store),
      comm_(comm),
      ranks_(ranks),
      kernel_(settings.config),
      scheduler_(record.ledger, ranks),
      progress_(settings.progress, settings.progress_interval, settings.config.total_samples(), done_draws()),
      start_(Clock::now()),
      last_checkpoint_(start_),
      last_message_(start_),
      said_bye_(std::size_t(ranks), false) {
  said_bye_[0] = true;
  span_ = std::uint64_t(settings.config.range.span());
  if (settings.histogram && record_.histogram.empty())
    record_.histogram.assign(std::size_t(settings.config.tasks) * span_, 0);
  byes_ = 1;
  done_draws_ = done_draws();
  record_.rank_timing.assign(std::size_t(ranks), {});
}

std::uint64_t Coordinator::done_draws() const {
  const auto& ledger = record_.ledger;
  if (ledger.complete()) return ledger.config().total_samples();
  std::uint64_t out = 0;
  for (core::ChunkId id = 0; id < ledger.size(); ++id)
    if (ledger.done(id)) out += ledger.config().indices_of(id).size();
  return out;
}

void Coordinator::check_stop() {
  if (stopping_) return;
  if (int s = stop_signal()) {
    stopping_ = true;
    stop_reason_ = signal_name(s) + " on rank 0";
  } else if (settings_.max_seconds > 0 &&
             std::chrono::duration<double>(Clock::now() - start_).count() >= settings_.max_seconds) {
    stopping_ = true;
    stop_reason_ = fmt::format("--max-seconds {}", settings_.max_seconds);
  }
}

void Coordinator::absorb(const BatchResult& result) {
  const auto& config = settings_.config;
  if (result.batch.first + result.batch.count > record_.ledger.size() || result.sums.size() != result.batch.count)
    throw Error(ExitCode::kFailure, "a batch result does not fit the ledger");
  for (std::uint64_t i = 0; i < result.batch.count; ++i) {
    const core::ChunkId id = result.batch.first + i;
    record_.ledger.record(id, result.sums[i]);
    done_draws_ += config.indices_of(id).size();
  }
  if (settings_.histogram) {
    if (result.histogram.size() + result.first_task * span_ > record_.histogram.size() || result.batch.count == 0)
      throw Error(ExitCode::kFailure, "a batch histogram does not fit the run's histogram");
    add_histogram(result, span_, record_.histogram);
  }
}

void Coordinator::handle_results(int source, const std::vector<std::uint64_t>& words) {
  BatchResult result;
  if (!protocol::decode(words, result))
    throw Error(ExitCode::kFailure, fmt::format("malformed result message from rank {}", source));
  if (result.batch.count > 0) absorb(result);
}

void Coordinator::reply(int worker) {
  protocol::Assign assign;
  if (stopping_) {
    assign.reason = protocol::NoWork::kStopNow;
  } else if (auto batch = scheduler_.next(Scheduler::kMaxBatchDrawsPerThread * threads())) {
    assign.batch = *batch;
  } else {
    assign.reason = protocol::NoWork::kNoMore;
  }
  mpi::send(protocol::encode(assign), worker, mpi::kAssign, comm_);
}

bool Coordinator::serve_one() {
  if (comm_ == MPI_COMM_NULL) return false;
  MPI_Status status;
  if (!mpi::probe(MPI_ANY_SOURCE, MPI_ANY_TAG, comm_, status)) return false;
  const auto words = mpi::receive(status, comm_);
  last_message_ = Clock::now();
  const int source = status.MPI_SOURCE;
  switch (status.MPI_TAG) {
    case mpi::kResult:
      handle_results(source, words);
      check_stop();
      reply(source);
      break;
    case mpi::kStopReq:
      if (!stopping_) {
        stopping_ = true;
        stop_reason_ = signal_name(words.empty() ? 0 : int(words[0])) + fmt::format(" on rank {}", source);
      }
      break;
    case mpi::kBye:
      if (!said_bye_[std::size_t(source)]) {
        said_bye_[std::size_t(source)] = true;
        ++byes_;
        record_.rank_timing[std::size_t(source)] = protocol::decode_timing(words);
      }
      break;
    default:
      throw Error(ExitCode::kFailure, fmt::format("unexpected message tag {} from rank {}", status.MPI_TAG, source));
  }
  return true;
}

void Coordinator::checkpoint_if_due() {
  if (settings_.checkpoint_every <= 0) return;
  const auto now = Clock::now();
  if (std::chrono::duration<double>(now - last_checkpoint_).count() < settings_.checkpoint_every) return;
  record_.wall_seconds = std::chrono::duration<double>(now - start_).count();
  store_.save(record_);
  last_checkpoint_ = Clock::now();  // the interval counts from the end of the write
}

void Coordinator::wait_a_little(int& idle_rounds) {
  idle_pause(idle_rounds);
  const double silent = std::chrono::duration<double>(Clock::now() - last_message_).count();
  if (silent > settings_.peer_timeout) {
    std::string silent_ranks;
    for (int r = 1; r < ranks_; ++r)
      if (!said_bye_[std::size_t(r)]) {
        if (!silent_ranks.empty()) silent_ranks += ',';
        silent_ranks += std::to_string(r);
      }
    throw Error(ExitCode::kFailure, fmt::format("no message from rank(s) {} for {:.0f} s; giving up (the last "
                                                "checkpoint is kept, run again to resume)",
                                                silent_ranks, silent));
  }
}

ExitCode Coordinator::run() {
  const std::uint64_t own_cap =
      (ranks_ > 1 ? kOwnBatchDrawsPerThread : Scheduler::kMaxBatchDrawsPerThread) * threads();
  int idle_rounds = 0;
  for (;;) {
    check_stop();
    while (serve_one()) idle_rounds = 0;
    if (!stopping_) {
      if (auto batch = scheduler_.next(own_cap)) {
        const BatchResult result = compute_batch(kernel_, *batch, settings_.threads, settings_.histogram);
        auto& timing = record_.rank_timing[0];
        timing.busy_seconds += result.busy_seconds;
        timing.chunks += std::int64_t(result.batch.count);
        own_draws_ += result.draws;
        timing.numbers_per_second = timing.busy_seconds > 0 ? double(own_draws_) / timing.busy_seconds : 0.0;
        absorb(result);
        progress_.update(done_draws_);
        checkpoint_if_due();
        continue;
      }
    }
    if (byes_ == ranks_) break;  // every worker has drained its requests
    checkpoint_if_due();
    progress_.update(done_draws_);
    wait_a_little(idle_rounds);
  }
  progress_.finish(done_draws_);
  record_.wall_seconds = std::chrono::duration<double>(Clock::now() - start_).count();
  if (stopping_ && !record_.ledger.complete()) return ExitCode::kStopped;
  if (!record_.ledger.complete())
    throw Error(ExitCode::kFailure, "internal error: the run ended with chunks neither done nor pending");
  return ExitCode::kOk;
}

}  // namespace tally::parallel
