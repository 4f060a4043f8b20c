#include "parallel/dispatcher.hpp"

#include <fmt/core.h>

#include <algorithm>

#include "core/error.hpp"
#include "parallel/signals.hpp"

namespace tally::parallel {

Dispatcher::Dispatcher(io::RunRecord& record, int ranks, DispatchOptions options, double now)
    : record_(record),
      options_(options),
      scheduler_(record.ledger, ranks,
                 {options.threads, options.batch_seconds.value_or(Scheduler::target_batch_seconds(ranks))}),
      workers_(std::size_t(std::max(ranks, 1))),
      start_(now),
      last_tick_(now) {
  for (auto& w : workers_) w.last_heard = w.last_told = now;
  record_.rank_timing.assign(workers_.size(), {});
  record_.rank_hosts.resize(workers_.size());
  workers_[0].said_bye = true;  // rank 0 is the coordinator itself
  const auto& config = record.ledger.config();
  span_ = std::uint64_t(config.range.span());
  if (options_.histogram && record_.histogram.empty())
    record_.histogram.assign(std::size_t(config.tasks) * span_, 0);
  const auto& ledger = record.ledger;
  if (ledger.complete()) {
    done_draws_ = config.total_samples();
  } else {
    for (core::ChunkId id = 0; id < ledger.size(); ++id)
      if (ledger.done(id)) done_draws_ += config.indices_of(id).size();
  }
}

void Dispatcher::send(int dest, protocol::Tag tag, std::vector<std::uint64_t> words, double now) {
  workers_[std::size_t(dest)].last_told = now;
  outgoing_.push_back({dest, tag, std::move(words)});
}

void Dispatcher::absorb(const BatchResult& result) {
  const auto& config = record_.ledger.config();
  if (result.batch.count == 0 || result.batch.first + result.batch.count > record_.ledger.size() ||
      result.batch.first + result.batch.count < result.batch.first || result.sums.size() != result.batch.count)
    throw Error(ExitCode::kFailure, "a batch result does not fit the ledger");
  if (options_.histogram &&
      (result.first_task >= std::uint64_t(config.tasks) ||
       result.histogram.size() > (std::uint64_t(config.tasks) - result.first_task) * span_))
    throw Error(ExitCode::kFailure, "a batch histogram does not fit the run's histogram");
  bool any_new = false, all_new = true;
  for (std::uint64_t i = 0; i < result.batch.count; ++i) {
    const core::ChunkId id = result.batch.first + i;
    if (record_.ledger.record(id, result.sums[i])) {
      done_draws_ += config.indices_of(id).size();
      any_new = true;
    } else {
      all_new = false;
    }
  }
  // Counts cannot be split by chunk: a batch's histogram joins only if all its chunks
  // were new. Batches are handed out once to living ranks, so this always holds.
  if (options_.histogram && any_new) {
    if (!all_new) throw Error(ExitCode::kFailure, "internal error: a histogram batch overlaps done chunks");
    add_histogram(result, span_, record_.histogram);
  }
}

void Dispatcher::absorb_own(const BatchResult& result) { absorb(result); }

void Dispatcher::handle_results(int source, const std::vector<std::uint64_t>& words, double now) {
  BatchResult result;
  if (!protocol::decode(words, result))
    throw Error(ExitCode::kFailure, fmt::format("malformed result message from rank {}", source));
  auto& w = workers_[std::size_t(source)];
  if (!w.lost) scheduler_.reported(source, result.batch, now);  // times the worker's batches
  if (result.batch.count == 0) return;  // a plain request
  if (w.lost) {
    // Declared lost, yet alive: its batches went to others. Sums it sends for chunks
    // already done must agree (the ledger throws otherwise); nothing new is counted.
    for (std::uint64_t i = 0; i < result.batch.count && i < result.sums.size(); ++i) {
      const core::ChunkId id = result.batch.first + i;
      if (id < record_.ledger.size() && record_.ledger.done(id) && record_.ledger.chunk(id) != result.sums[i])
        throw Error(ExitCode::kFailure,
                    fmt::format("rank {} (declared lost) sent a different sum for chunk {}", source, id));
    }
    return;
  }
  const auto match = std::find_if(w.outstanding.begin(), w.outstanding.end(), [&](const Batch& b) {
    return b.first == result.batch.first && b.count == result.batch.count;
  });
  if (match == w.outstanding.end())
    throw Error(ExitCode::kFailure, fmt::format("rank {} sent results for a batch it was not given", source));
  w.outstanding.erase(match);
  absorb(result);
}

void Dispatcher::reply(int worker, double now) {
  protocol::Assign assign;
  auto& w = workers_[std::size_t(worker)];
  if (stopping_ || w.lost) {
    assign.reason = protocol::NoWork::kStopNow;
  } else if (auto batch = scheduler_.next_for(worker)) {
    assign.batch = *batch;
    w.outstanding.push_back(*batch);
  } else {
    assign.reason = protocol::NoWork::kNoMore;
  }
  send(worker, protocol::kAssign, protocol::encode(assign), now);
}

void Dispatcher::on_message(int source, int tag, const std::vector<std::uint64_t>& words, double now) {
  if (source <= 0 || std::size_t(source) >= workers_.size())
    throw Error(ExitCode::kFailure, fmt::format("message from unknown rank {}", source));
  auto& w = workers_[std::size_t(source)];
  w.last_heard = now;
  w.started = true;
  switch (tag) {
    case protocol::kResult:
      handle_results(source, words, now);
      reply(source, now);
      break;
    case protocol::kStopReq:
      if (!w.lost) stop(fmt::format("{} on rank {}", signal_name(words.empty() ? 0 : int(words[0])), source));
      break;
    case protocol::kBye:
      if (!w.said_bye && !w.lost) record_.rank_timing[std::size_t(source)] = protocol::decode_timing(words);
      w.said_bye = true;
      if (w.lost) send(source, protocol::kFinal, protocol::encode(protocol::Final{1, true}), now);
      break;
    case protocol::kHello:
      record_.rank_hosts[std::size_t(source)] = protocol::decode_text(words);
      break;
    case protocol::kHeartbeat:
      break;
    default:
      throw Error(ExitCode::kFailure, fmt::format("unexpected message tag {} from rank {}", tag, source));
  }
}

void Dispatcher::declare_lost(int rank, const std::string& why, double now) {
  auto& w = workers_[std::size_t(rank)];
  if (w.lost || w.said_bye) return;  // a worker that said goodbye owes nothing
  w.lost = true;
  std::int64_t chunks = 0;
  for (const auto& b : w.outstanding) {
    chunks += std::int64_t(b.count);
    scheduler_.give_back(b);
  }
  w.outstanding.clear();
  io::LostRank lost;
  lost.start = options_.start;
  lost.rank = rank;
  lost.host = record_.rank_hosts[std::size_t(rank)];
  lost.seconds = now - start_;
  lost.chunks_reassigned = chunks;
  lost.reason = why;
  record_.lost.push_back(std::move(lost));
}

void Dispatcher::on_peer_failed(int rank, const std::string& why, double now) {
  if (rank <= 0 || std::size_t(rank) >= workers_.size())
    throw Error(ExitCode::kFailure, fmt::format("lost contact with rank {}: {}", rank, why));
  declare_lost(rank, why, now);
}

void Dispatcher::tick(double now) {
  // Deadlines and heartbeats are a second apart: scanning every worker more often than
  // every twentieth of a heartbeat gains nothing and costs rank 0 (1 ms per scan at 10^5
  // workers: bench/coordinator_bench.cpp).
  if (now - last_tick_ < options_.heartbeat / 20) return;
  // Time rank 0 itself was away (computing or writing) does not count as anyone's silence.
  const double away = now - last_tick_ - 2 * options_.heartbeat;
  if (away > 0)
    for (auto& w : workers_) w.last_heard += away;
  last_tick_ = now;
  for (std::size_t r = 1; r < workers_.size(); ++r) {
    auto& w = workers_[r];
    if (w.lost) continue;
    if (!w.said_bye && now - w.last_heard > options_.peer_timeout)
      declare_lost(int(r), fmt::format("silent for {:.1f} s", now - w.last_heard), now);
    else if (now - w.last_told >= options_.heartbeat)
      send(int(r), protocol::kHeartbeat, {}, now);  // also to those waiting for the final word
  }
}

void Dispatcher::stop(const std::string& reason) {
  if (stopping_) return;
  stopping_ = true;
  stop_reason_ = reason;
}

std::optional<Batch> Dispatcher::next_own_batch(std::uint64_t max_draws) {
  if (stopping_) return std::nullopt;
  return scheduler_.next(max_draws);
}

bool Dispatcher::finished() const {
  if (!stopping_ && !record_.ledger.complete()) return false;
  return std::all_of(workers_.begin(), workers_.end(), [](const Worker& w) { return w.said_bye || w.lost; });
}

std::vector<int> Dispatcher::living_workers() const {
  std::vector<int> out;
  for (std::size_t r = 1; r < workers_.size(); ++r)
    if (!workers_[r].lost) out.push_back(int(r));
  return out;
}

}  // namespace tally::parallel
