#include "parallel/coordinator.hpp"

#include <fmt/core.h>

#include <csignal>
#include <cstring>
#include <thread>

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

void Coordinator::compute(const Batch& batch) {
  std::vector<core::ChunkId> ids(batch.count);
  for (std::uint64_t i = 0; i < batch.count; ++i) ids[i] = batch.first + i;
  std::vector<core::ChunkSum> sums(batch.count);
  const auto t0 = Clock::now();
  kernel_.sum_chunks(ids, sums, settings_.threads);
  auto& timing = record_.rank_timing[0];
  timing.busy_seconds += std::chrono::duration<double>(Clock::now() - t0).count();
  timing.chunks += std::int64_t(batch.count);
  for (std::uint64_t i = 0; i < batch.count; ++i) {
    record_.ledger.record(ids[i], sums[i]);
    const auto n = settings_.config.indices_of(ids[i]).size();
    own_draws_ += n;
    done_draws_ += n;
  }
  timing.numbers_per_second = timing.busy_seconds > 0 ? double(own_draws_) / timing.busy_seconds : 0.0;
}

void Coordinator::handle_results(int source, const std::vector<std::uint64_t>& words) {
  if (words.size() < 2 || words.size() != 2 + 2 * words[1])
    throw Error(ExitCode::kFailure, fmt::format("malformed result message from rank {}", source));
  const Batch batch{words[0], words[1]};
  for (std::uint64_t i = 0; i < batch.count; ++i) {
    const core::ChunkId id = batch.first + i;
    record_.ledger.record(id, {std::int64_t(words[2 + 2 * i]), words[3 + 2 * i]});
    done_draws_ += settings_.config.indices_of(id).size();
  }
}

void Coordinator::reply(int worker) {
  protocol::Assign assign;
  if (stopping_) {
    assign.reason = protocol::NoWork::kStopNow;
  } else if (auto batch = scheduler_.next(Scheduler::kMaxBatchDraws)) {
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
  // Sleep instead of spinning: ranks often share cores (oversubscribed tests, SMT).
  const int micros = std::min(1000, 20 << std::min(idle_rounds, 6));
  ++idle_rounds;
  std::this_thread::sleep_for(std::chrono::microseconds(micros));
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
      ranks_ > 1 ? kOwnBatchDrawsPerThread * std::uint64_t(std::max(settings_.threads, 1)) : Scheduler::kMaxBatchDraws;
  int idle_rounds = 0;
  for (;;) {
    check_stop();
    while (serve_one()) idle_rounds = 0;
    if (!stopping_) {
      if (auto batch = scheduler_.next(own_cap)) {
        compute(*batch);
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
