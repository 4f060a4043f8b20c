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
      peers_(ranks, options.timing, now),
      outstanding_(std::size_t(std::max(ranks, 1))),
      start_(now) {
  record_.rank_timing.assign(outstanding_.size(), {});
  record_.rank_hosts.resize(outstanding_.size());
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
  peers_.told(dest, now);
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
  const bool lost = peers_.lost(source);
  if (!lost) scheduler_.reported(source, result.batch, now);  // times the worker's batches
  if (result.batch.count == 0) return;  // a plain request
  if (lost) {
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
  auto& outstanding = outstanding_[std::size_t(source)];
  const auto match = std::find_if(outstanding.begin(), outstanding.end(), [&](const Batch& b) {
    return b.first == result.batch.first && b.count == result.batch.count;
  });
  if (match == outstanding.end())
    throw Error(ExitCode::kFailure, fmt::format("rank {} sent results for a batch it was not given", source));
  outstanding.erase(match);
  absorb(result);
}

void Dispatcher::reply(int worker, double now) {
  protocol::Assign assign;
  if (stopping_ || peers_.lost(worker)) {
    assign.reason = protocol::NoWork::kStopNow;
  } else if (auto batch = scheduler_.next_for(worker)) {
    assign.batch = *batch;
    outstanding_[std::size_t(worker)].push_back(*batch);
  } else {
    assign.reason = protocol::NoWork::kNoMore;
  }
  send(worker, protocol::kAssign, protocol::encode(assign), now);
}

void Dispatcher::on_message(int source, int tag, const std::vector<std::uint64_t>& words, double now) {
  if (source <= 0 || source >= peers_.ranks())
    throw Error(ExitCode::kFailure, fmt::format("message from unknown rank {}", source));
  peers_.heard(source, now);
  const bool lost = peers_.lost(source);
  switch (tag) {
    case protocol::kResult:
      handle_results(source, words, now);
      reply(source, now);
      break;
    case protocol::kStopReq:
      if (!lost) stop(fmt::format("{} on rank {}", signal_name(words.empty() ? 0 : int(words[0])), source));
      break;
    case protocol::kBye:
      if (!peers_.has_said_goodbye(source) && !lost)
        record_.rank_timing[std::size_t(source)] = protocol::decode_timing(words);
      peers_.said_goodbye(source);
      if (lost) send(source, protocol::kFinal, protocol::encode(protocol::Final{1, true}), now);
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
  if (!peers_.declare_lost(rank)) return;  // lost already, or said goodbye: owes nothing
  std::int64_t chunks = 0;
  auto& outstanding = outstanding_[std::size_t(rank)];
  for (const auto& b : outstanding) {
    chunks += std::int64_t(b.count);
    scheduler_.give_back(b);
  }
  outstanding.clear();
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
  if (rank <= 0 || rank >= peers_.ranks())
    throw Error(ExitCode::kFailure, fmt::format("lost contact with rank {}: {}", rank, why));
  declare_lost(rank, why, now);
}

void Dispatcher::on_time(double now) {
  auto due = peers_.on_time(now);
  for (const auto& silent : due.silent)
    declare_lost(silent.rank, fmt::format("silent for {:.1f} s", silent.seconds), now);
  // Also to those that said goodbye and wait for the final word.
  for (int rank : due.heartbeats) outgoing_.push_back({rank, protocol::kHeartbeat, {}});
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
  return peers_.all_accounted_for();
}

}  // namespace tally::parallel
