#include "parallel/replay.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <optional>
#include <tuple>

#include "core/error.hpp"
#include "io/results_file.hpp"
#include "parallel/backoff.hpp"
#include "parallel/beside.hpp"
#include "parallel/protocol.hpp"
#include "parallel/rank_zero_link.hpp"

namespace tally::parallel {

namespace {

// The replay's messages are protocol::kShare, kSums, kTrouble, kHeartbeat and kFinal
// (src/parallel/protocol.hpp: one tag space for run and verify).
using protocol::kFinal;
using protocol::kHeartbeat;
using protocol::kShare;
using protocol::kSums;
using protocol::kTrouble;

/// Chunks per kSums message: results stream back while the share computes (rank 0
/// hears from the worker often) and no message grows with the file.
constexpr std::size_t kChunksPerMessage = 4096;

}  // namespace

std::pair<std::size_t, std::size_t> replay_share(std::size_t n, int rank, int ranks) {
  const auto r = std::size_t(rank), k = std::size_t(std::max(ranks, 1));
  // n·r/k without overflow for any n the ledger allows (≤ 2^28 chunks) and any k.
  const auto at = [&](std::size_t i) { return std::size_t(core::u128(n) * i / k); };
  return {at(r), at(r + 1)};
}

ReplayCoordinator::ReplayCoordinator(Transport& transport, const Clock& clock, int ranks, ReplaySettings settings)
    : transport_(transport),
      clock_(clock),
      settings_(std::move(settings)),
      // A large launch may start a worker well after rank 0: the start-up allowance applies.
      peers_(ranks, settings_.timing(), clock.now(), true),
      shares_(std::size_t(std::max(ranks, 1))) {}

bool ReplayCoordinator::share_done(int rank) const {
  const Share& share = shares_[std::size_t(rank)];
  return peers_.lost(rank) || share.gave_up || share.received == share.end - share.begin;
}

void ReplayCoordinator::give_up_on(int rank, const std::string& note) {
  if (!peers_.declare_lost(rank)) return;
  transport_.abandon(rank);
  notes_.push_back(note);
}

void ReplayCoordinator::answer_workers(std::span<core::ChunkSum> out) {
  while (auto m = transport_.poll()) {
    const int rank = m->source;
    if (rank <= 0 || rank >= peers_.ranks() || peers_.lost(rank)) continue;
    peers_.heard(rank, clock_.now());
    Share& share = shares_[std::size_t(rank)];
    if (m->tag == kTrouble) {
      share.gave_up = true;
      notes_.push_back(fmt::format("rank {} could not replay its share ({}); rank 0 replayed it", rank,
                                   protocol::decode_text(m->words)));
    } else if (m->tag == kSums) {
      if (share.gave_up) continue;  // rank 0 replays that share itself: never count a chunk twice
      const auto& x = m->words;
      const std::size_t size = share.end - share.begin;
      if (x.size() < 2 || x[0] != share.received || x[1] > size - share.received ||
          x.size() != 2 + protocol::kWordsPerChunk * x[1]) {
        give_up_on(rank, fmt::format("rank {} sent malformed sums; rank 0 replayed its share", rank));
        continue;
      }
      for (std::size_t i = 0; i < x[1]; ++i) {
        const std::size_t at = 2 + protocol::kWordsPerChunk * i;
        out[share.begin + share.received + i] = {core::i128((core::u128(x[at + 1]) << 64) | x[at]), x[at + 2]};
      }
      share.received += x[1];
    }
    // A worker whose share is done owes nothing more: it waits (heartbeating) for the final word.
    if (share_done(rank)) peers_.said_goodbye(rank);
  }
  for (const auto& f : transport_.failures())
    if (f.rank > 0 && f.rank < peers_.ranks())
      give_up_on(f.rank, fmt::format("rank {} was lost ({}); rank 0 replayed its share", f.rank, f.why));
  const auto due = peers_.on_time(clock_.now());
  for (const auto& silent : due.silent)
    give_up_on(silent.rank, fmt::format("rank {} was silent for {:.0f} s; rank 0 replayed its share", silent.rank,
                                        silent.seconds));
  for (int rank : due.heartbeats) transport_.send(rank, kHeartbeat, {});
}

void ReplayCoordinator::keep_alive() {
  while (auto m = transport_.poll())
    if (m->source > 0 && m->source < peers_.ranks() && !peers_.lost(m->source)) peers_.heard(m->source, clock_.now());
  for (const auto& f : transport_.failures())
    if (f.rank > 0 && f.rank < peers_.ranks()) give_up_on(f.rank, fmt::format("rank {} was lost ({})", f.rank, f.why));
  send_heartbeats(transport_, peers_, clock_.now());
}

void ReplayCoordinator::replay(const core::Kernel& kernel, std::uint64_t ledger_size,
                               std::span<const core::ChunkId> ids, std::span<core::ChunkSum> out) {
  const int ranks = peers_.ranks();
  const std::string fingerprint = kernel.config().fingerprint();
  for (int rank = 1; rank < ranks; ++rank) {
    Share& share = shares_[std::size_t(rank)];
    std::tie(share.begin, share.end) = replay_share(ids.size(), rank, ranks);
    share.received = 0;
    share.gave_up = false;
    if (peers_.lost(rank)) continue;  // lost while rank 0 read the file: rank 0 replays its share below
    peers_.expect(rank);
    // Runs of consecutive ids, not the ids: `--all` on a ledger of any size is one run.
    auto words = protocol::encode_runs(ids.subspan(share.begin, share.end - share.begin), {ledger_size});
    transport_.send(rank, kShare, protocol::encode_text(fingerprint, std::move(words)));
    peers_.told(rank, clock_.now());
    if (share_done(rank)) peers_.said_goodbye(rank);  // an empty share
  }
  // Rank 0's own share, answering the workers between pieces.
  const auto [begin, end] = replay_share(ids.size(), 0, ranks);
  const core::Kernel::BetweenPieces between = [&] {
    answer_workers(out);
    return true;
  };
  (void)kernel.sum_chunks(ids.subspan(begin, end - begin), out.subspan(begin, end - begin), settings_.threads, between);
  auto all_done = [&] {
    for (int rank = 1; rank < ranks; ++rank)
      if (!share_done(rank)) return false;
    return true;
  };
  for (int round = 0; !all_done(); idle_pause(round)) answer_workers(out);
  // Whatever a worker did not deliver, rank 0 computes: the report never lacks a chunk.
  for (int rank = 1; rank < ranks; ++rank) {
    Share& share = shares_[std::size_t(rank)];
    if (share.received == share.end - share.begin) continue;
    const std::size_t from = share.begin + share.received;
    (void)kernel.sum_chunks(ids.subspan(from, share.end - from), out.subspan(from, share.end - from),
                            settings_.threads, between);
    share.received = share.end - share.begin;
  }
}

bool ReplayCoordinator::finish(int code) {
  const bool any_lost = peers_.any_lost();
  send_final_word(transport_, peers_, protocol::Final{code, any_lost}, settings_.peer_timeout);
  return any_lost;
}

ReplayEnd run_replay_worker(Transport& transport, const Clock& clock, const ReplaySettings& s) {
  RankZeroLink link(transport, clock, s.timing(), true);  // rank 0 is reading and checking the file
  // The next message from rank 0 other than a heartbeat, if one is waiting; meanwhile
  // rank 0 hears that this worker is alive.
  auto poll = [&] {
    link.heartbeat_if_due();
    return link.poll();
  };
  auto end_from = [&](const Message& m) -> ReplayEnd {
    if (m.tag != kFinal) throw Error(ExitCode::kFailure, fmt::format("unexpected message tag {} from rank 0", m.tag));
    const auto f = protocol::decode_final(m.words);
    return {f.code, f.skip_finalize};
  };

  Message first = link.wait();
  if (first.tag != kShare) return end_from(first);  // nothing to replay (the file failed early)
  const auto& share_words = first.words;
  std::size_t after_ids = 1;
  const auto share = share_words.empty() ? std::nullopt : protocol::decode_runs(share_words, after_ids, share_words[0]);
  if (!share) throw Error(ExitCode::kFailure, "malformed share from rank 0");
  const std::vector<core::ChunkId>& ids = *share;
  const std::string fingerprint = protocol::decode_text(share_words, after_ids);
  if (ids.empty()) {  // fewer chunks than ranks: nothing to open or replay
    const ReplayEnd end = end_from(link.wait());
    link.drain(s.peer_timeout);
    return end;
  }

  // Open the file ourselves: rank 0 has checked it; a rank that cannot read it (another
  // node's path, a different copy) says so and rank 0 replays its share instead.
  // Reading it (for the numpy stream: recomputing its tails) may outlast
  // --peer-timeout on a large file: it runs beside this thread, which keeps talking.
  struct Opened {
    std::optional<core::Config> config;
    std::string trouble;
  };
  std::optional<Message> early;  // rank 0 may end the job before we are done
  const Opened opened = run_beside([&]() -> Opened {
    try {
      const io::TallyFile file = io::read_tally_file(s.file, s.locking);
      // Another file under the same name (a node's own copy) must not be replayed: its
      // sums would make rank 0 report a correct file as altered.
      const auto& ledger = file.record.ledger;
      if (ledger.size() != share_words[0] || ledger.config().fingerprint() != fingerprint)
        return {std::nullopt, fmt::format("its {} is another file ({} chunks, configuration {}; rank 0's: {} chunks, {})",
                                          s.file.string(), ledger.size(), ledger.config().fingerprint(), share_words[0],
                                          fingerprint)};
      return {ledger.config(), {}};
    } catch (const std::exception& e) {
      return {std::nullopt, e.what()};
    }
  }, [&] {
    if (!early) early = poll();
  });
  if (!opened.config) link.send(kTrouble, protocol::encode_text(opened.trouble));
  std::optional<core::Kernel> kernel;
  if (opened.config && !early) kernel.emplace(*opened.config);
  if (kernel) {
    // Rank 0 may end the job early: the share is abandoned within a piece.
    const core::Kernel::BetweenPieces between = [&] {
      if (!early) early = poll();
      return !early;
    };
    std::vector<core::ChunkSum> sums;
    for (std::size_t at = 0; at < ids.size() && !early; at += kChunksPerMessage) {
      const std::size_t count = std::min(kChunksPerMessage, ids.size() - at);
      sums.assign(count, {});
      if (!kernel->sum_chunks(std::span(ids).subspan(at, count), sums, s.threads, between)) break;
      std::vector<std::uint64_t> words{at, count};
      words.reserve(2 + protocol::kWordsPerChunk * count);
      for (const auto& x : sums) {
        words.push_back(std::uint64_t(core::u128(x.sum)));
        words.push_back(std::uint64_t(core::u128(x.sum) >> 64));
        words.push_back(x.missing);
      }
      link.send(kSums, std::move(words));
    }
  }
  if (!early) link.said_all();  // the whole share or kTrouble went: rank 0 owes only the final word
  const ReplayEnd end = end_from(early ? *early : link.wait());
  link.drain(s.peer_timeout);
  return end;
}

}  // namespace tally::parallel
