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

struct ReplayCoordinator::Worker {
  int rank = 0;
  std::size_t begin = 0, end = 0;  ///< its share of the selection
  std::size_t received = 0;        ///< sums received so far (they arrive in order)
  double last_heard = 0;
  bool heard = false;              ///< any word yet (until then the start-up allowance applies)
  bool lost = false;               ///< failed or silent: never waited on again
  bool gave_up = false;            ///< said it cannot replay (kTrouble), but is alive
  [[nodiscard]] bool done() const { return lost || gave_up || received == end - begin; }
};

ReplayCoordinator::ReplayCoordinator(const mpi::Session& session, ReplaySettings settings)
    : session_(session), settings_(std::move(settings)),
      transport_(session.comm(), clock_, settings_.timing()) {
  for (int r = 1; r < session_.size(); ++r) workers_.push_back({r});
  last_told_ = clock_.now();
}

ReplayCoordinator::~ReplayCoordinator() = default;

void ReplayCoordinator::heartbeat_if_due() {
  if (clock_.now() - last_told_ < settings_.timing().heartbeat()) return;
  for (const auto& w : workers_)
    if (!w.lost) transport_.send(w.rank, kHeartbeat, {});
  last_told_ = clock_.now();
}

/// Takes every waiting message, fails peers that failed or fell silent, keeps the
/// workers' waits alive. `out` receives sums at their place in the selection.
void ReplayCoordinator::service(std::span<core::ChunkSum> out) {
  auto worker_of = [&](int rank) -> Worker* {
    return rank >= 1 && rank <= int(workers_.size()) ? &workers_[std::size_t(rank - 1)] : nullptr;
  };
  while (auto m = transport_.poll()) {
    Worker* w = worker_of(m->source);
    if (w == nullptr || w->lost) continue;
    w->heard = true;
    w->last_heard = clock_.now();
    if (m->tag == kTrouble) {
      w->gave_up = true;
      notes_.push_back(fmt::format("rank {} could not replay its share ({}); rank 0 replayed it",
                                   w->rank, protocol::decode_text(m->words)));
    } else if (m->tag == kSums) {
      const auto& x = m->words;
      const std::size_t share = w->end - w->begin;
      if (x.size() < 2 || x[0] != w->received || x[1] > share - w->received ||
          x.size() != 2 + protocol::kWordsPerChunk * x[1]) {
        w->lost = true;
        notes_.push_back(fmt::format("rank {} sent malformed sums; rank 0 replayed its share", w->rank));
        continue;
      }
      for (std::size_t i = 0; i < x[1]; ++i) {
        const std::size_t at = 2 + protocol::kWordsPerChunk * i;
        out[w->begin + w->received + i] = {core::i128((core::u128(x[at + 1]) << 64) | x[at]), x[at + 2]};
      }
      w->received += x[1];
    }
  }
  for (const auto& f : transport_.failures())
    if (Worker* w = worker_of(f.rank); w != nullptr && !w->lost) {
      w->lost = true;
      transport_.abandon(w->rank);
      notes_.push_back(fmt::format("rank {} was lost ({}); rank 0 replayed its share", w->rank, f.why));
    }
  const double now = clock_.now();
  for (auto& w : workers_) {
    if (w.done()) continue;
    const double allowed = w.heard ? settings_.peer_timeout : settings_.timing().startup_allowance();
    if (now - w.last_heard > allowed) {
      w.lost = true;
      transport_.abandon(w.rank);
      notes_.push_back(fmt::format("rank {} was silent for {:.0f} s; rank 0 replayed its share", w.rank,
                                   now - w.last_heard));
    }
  }
  heartbeat_if_due();
}

void ReplayCoordinator::replay(const core::Kernel& kernel, std::uint64_t ledger_size,
                               std::span<const core::ChunkId> ids, std::span<core::ChunkSum> out) {
  const int ranks = session_.size();
  const double now = clock_.now();
  const std::string fingerprint = kernel.config().fingerprint();
  for (auto& w : workers_) {
    if (w.lost) continue;
    std::tie(w.begin, w.end) = replay_share(ids.size(), w.rank, ranks);
    w.received = 0;
    w.gave_up = false;
    w.last_heard = now;
    // Runs of consecutive ids, not the ids: `--all` on a ledger of any size is one run.
    auto words = protocol::encode_runs(ids.subspan(w.begin, w.end - w.begin), {ledger_size});
    transport_.send(w.rank, kShare, protocol::encode_text(fingerprint, std::move(words)));
  }
  last_told_ = now;
  // Rank 0's own share, answering the workers between pieces.
  const auto [begin, end] = replay_share(ids.size(), 0, ranks);
  const core::Kernel::BetweenPieces between = [&] {
    service(out);
    return true;
  };
  (void)kernel.sum_chunks(ids.subspan(begin, end - begin), out.subspan(begin, end - begin), settings_.threads, between);
  for (int round = 0; !std::all_of(workers_.begin(), workers_.end(), [](const Worker& w) { return w.done(); });
       idle_pause(round))
    service(out);
  // Whatever a worker did not deliver, rank 0 computes: the report never lacks a chunk.
  for (auto& w : workers_) {
    if (w.received == w.end - w.begin) continue;
    const std::size_t from = w.begin + w.received;
    (void)kernel.sum_chunks(ids.subspan(from, w.end - from), out.subspan(from, w.end - from), settings_.threads,
                            between);
    w.received = w.end - w.begin;
  }
}

bool ReplayCoordinator::finish(int code) {
  bool any_lost = false;
  for (const auto& w : workers_) any_lost = any_lost || w.lost;
  for (const auto& w : workers_)
    if (!w.lost) transport_.send(w.rank, kFinal, protocol::encode(protocol::Final{code, any_lost}));
  (void)transport_.drain(settings_.peer_timeout);  // a worker that cannot take it is gone
  return any_lost;
}

ReplayEnd serve_replay(const mpi::Session& session, const ReplaySettings& s) {
  const SteadyClock clock;
  MpiTransport transport(session.comm(), clock, s.timing());
  double last_heard = clock.now(), last_told = last_heard;
  double allowed = s.timing().startup_allowance();  // rank 0 is reading and checking the file
  auto send = [&](int tag, std::vector<std::uint64_t> words) {
    transport.send(0, tag, std::move(words));
    last_told = clock.now();
  };
  // The next message from rank 0 other than a heartbeat, if one is waiting.
  auto poll = [&]() -> std::optional<Message> {
    for (const auto& f : transport.failures())
      throw Error(ExitCode::kFailure, fmt::format("lost rank 0 ({}); giving up", f.why));
    while (auto m = transport.poll(0)) {
      last_heard = clock.now();
      if (m->tag != kHeartbeat) return m;
    }
    if (clock.now() - last_heard > allowed)
      throw Error(ExitCode::kFailure,
                  fmt::format("no word from rank 0 for {:.0f} s; giving up", clock.now() - last_heard));
    if (clock.now() - last_told >= s.timing().heartbeat()) send(kHeartbeat, {});
    return std::nullopt;
  };
  auto wait = [&] {
    for (int round = 0;; idle_pause(round))
      if (auto m = poll()) return *m;
  };
  auto end_from = [&](const Message& m) -> ReplayEnd {
    if (m.tag != kFinal) throw Error(ExitCode::kFailure, fmt::format("unexpected message tag {} from rank 0", m.tag));
    const auto f = protocol::decode_final(m.words);
    return {f.code, f.skip_finalize};
  };

  Message first = wait();
  allowed = s.peer_timeout;
  if (first.tag != kShare) return end_from(first);  // nothing to replay (the file failed early)
  const auto& w = first.words;
  std::size_t after_ids = 1;
  const auto share = w.empty() ? std::nullopt : protocol::decode_runs(w, after_ids, w[0]);
  if (!share) throw Error(ExitCode::kFailure, "malformed share from rank 0");
  const std::vector<core::ChunkId>& ids = *share;
  const std::string fingerprint = protocol::decode_text(w, after_ids);
  if (ids.empty()) {  // fewer chunks than ranks: nothing to open or replay
    const ReplayEnd end = end_from(wait());
    (void)transport.drain(s.peer_timeout);
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
      if (ledger.size() != w[0] || ledger.config().fingerprint() != fingerprint)
        return {std::nullopt, fmt::format("its {} is another file ({} chunks, configuration {}; rank 0's: {} chunks, {})",
                                          s.file.string(), ledger.size(), ledger.config().fingerprint(), w[0],
                                          fingerprint)};
      return {ledger.config(), {}};
    } catch (const std::exception& e) {
      return {std::nullopt, e.what()};
    }
  }, [&] {
    if (!early) early = poll();
  });
  if (!opened.config) send(kTrouble, protocol::encode_text(opened.trouble));
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
      send(kSums, std::move(words));
    }
  }
  const ReplayEnd end = end_from(early ? *early : wait());
  (void)transport.drain(s.peer_timeout);
  return end;
}

}  // namespace tally::parallel
