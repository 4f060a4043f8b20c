#include "parallel/peers.hpp"

#include <fmt/core.h>

#include <algorithm>

#include "core/error.hpp"

namespace tally::parallel {

Peers::Peers(int ranks, PeerTiming timing, double now, bool allowance_until_heard)
    : timing_(timing),
      allowance_until_heard_(allowance_until_heard),
      peers_(std::size_t(std::max(ranks, 1))),
      last_on_time_(now) {
  for (auto& peer : peers_) peer.last_heard = peer.last_told = now;
  peers_[0].said_goodbye = true;  // rank 0 is this process
}

Peers::Peer& Peers::at(int rank) {
  if (rank <= 0 || std::size_t(rank) >= peers_.size())
    throw Error(ExitCode::kFailure, fmt::format("message from or to unknown rank {}", rank));
  return peers_[std::size_t(rank)];
}
const Peers::Peer& Peers::at(int rank) const { return const_cast<Peers*>(this)->at(rank); }

void Peers::heard(int rank, double now) {
  auto& peer = at(rank);
  peer.last_heard = now;
  peer.heard = true;
}

void Peers::told(int rank, double now) { at(rank).last_told = now; }

bool Peers::declare_lost(int rank) {
  auto& peer = at(rank);
  if (peer.lost || peer.said_goodbye) return false;
  peer.lost = true;
  return true;
}

Peers::Due Peers::on_time(double now) {
  Due due;
  if (now - last_on_time_ < timing_.heartbeat() / 20) return due;
  // Time rank 0 itself was away does not count as anyone's silence.
  const double away = now - last_on_time_ - 2 * timing_.heartbeat();
  if (away > 0)  // never past now: a peer heard while rank 0 was busy gets S from now, not more
    for (auto& peer : peers_) peer.last_heard = std::min(now, peer.last_heard + away);
  last_on_time_ = now;
  for (std::size_t rank = 1; rank < peers_.size(); ++rank) {
    const auto& peer = peers_[rank];
    if (peer.lost || peer.said_goodbye) continue;
    const double allowed =
        allowance_until_heard_ && !peer.heard ? timing_.startup_allowance() : timing_.silence;
    if (now - peer.last_heard > allowed) due.silent.push_back({int(rank), now - peer.last_heard});
  }
  for (int rank : heartbeats_due(now))  // not to those about to be declared lost
    if (std::none_of(due.silent.begin(), due.silent.end(), [&](const SilentPeer& s) { return s.rank == rank; }))
      due.heartbeats.push_back(rank);
  return due;
}

std::vector<int> Peers::heartbeats_due(double now) {
  std::vector<int> due;
  for (std::size_t rank = 1; rank < peers_.size(); ++rank) {
    auto& peer = peers_[rank];
    if (peer.lost || now - peer.last_told < timing_.heartbeat()) continue;
    peer.last_told = now;
    due.push_back(int(rank));
  }
  return due;
}

bool Peers::any_lost() const {
  return std::any_of(peers_.begin(), peers_.end(), [](const Peer& peer) { return peer.lost; });
}

bool Peers::all_accounted_for() const {
  return std::all_of(peers_.begin(), peers_.end(), [](const Peer& peer) { return peer.said_goodbye || peer.lost; });
}

std::vector<int> Peers::living() const {
  std::vector<int> out;
  for (std::size_t rank = 1; rank < peers_.size(); ++rank)
    if (!peers_[rank].lost) out.push_back(int(rank));
  return out;
}

void send_heartbeats(Transport& transport, Peers& peers, double now) {
  for (int rank : peers.heartbeats_due(now)) transport.send(rank, protocol::kHeartbeat, {});
}

void send_final_word(Transport& transport, const Peers& peers, protocol::Final final_word, double bound) {
  for (int rank : peers.living()) transport.send(rank, protocol::kFinal, protocol::encode(final_word));
  (void)transport.drain(bound);
}

}  // namespace tally::parallel
