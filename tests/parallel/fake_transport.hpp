#pragma once
// The peer layer without MPI, for unit tests of the worker loop, both coordinators and
// Peers: a clock the test moves, and a transport whose other side is the test. Every
// poll moves the clock on by a fixed step, so waits and deadlines pass in fake seconds.
#include <deque>
#include <functional>
#include <optional>
#include <utility>
#include <vector>

#include "parallel/clock.hpp"
#include "parallel/transport.hpp"

namespace tally::parallel::testing {

class FakeClock final : public Clock {
 public:
  [[nodiscard]] double now() const override { return now_; }
  void advance(double seconds) { now_ += seconds; }

 private:
  double now_ = 1000;
};

/// A message this side sent, with the fake time it left.
struct Sent {
  int dest = 0;
  int tag = 0;
  std::vector<std::uint64_t> words;
  double at = 0;
};

class FakeTransport final : public Transport {
 public:
  FakeTransport(FakeClock& clock, double seconds_per_poll) : clock_(clock), seconds_per_poll_(seconds_per_poll) {}

  /// The simulated peers: called on every send (they may answer with deliver()).
  std::function<void(const Sent&)> on_send;
  /// Called on every poll, after the clock moved (the peers' own pace).
  std::function<void()> on_poll;

  /// A message from `source` that the next polls return.
  void deliver(int source, int tag, std::vector<std::uint64_t> words = {}) {
    inbox_.push_back({source, tag, std::move(words)});
  }
  /// MPI reports a failure of `rank` at the next failures().
  void fail(int rank, std::string why) { failed_.push_back({rank, std::move(why)}); }

  void send(int dest, int tag, std::vector<std::uint64_t> words) override {
    sent.push_back({dest, tag, std::move(words), clock_.now()});
    if (on_send) on_send(Sent(sent.back()));
  }
  std::optional<Message> poll(int source = MPI_ANY_SOURCE) override {
    clock_.advance(seconds_per_poll_);
    if (on_poll) on_poll();
    for (auto it = inbox_.begin(); it != inbox_.end(); ++it)
      if (source == MPI_ANY_SOURCE || it->source == source) {
        Message m = std::move(*it);
        inbox_.erase(it);
        return m;
      }
    return std::nullopt;
  }
  std::vector<PeerFailure> failures() override { return std::exchange(failed_, {}); }
  void abandon(int rank) override {
    abandoned.push_back(rank);
    std::erase_if(inbox_, [&](const Message& m) { return m.source == rank; });
  }
  bool drain(double seconds) override {
    drains.push_back(seconds);
    return drain_completes;
  }

  /// Messages sent to `dest` with `tag`.
  [[nodiscard]] std::vector<Sent> sent_to(int dest, int tag) const {
    std::vector<Sent> out;
    for (const auto& s : sent)
      if (s.dest == dest && s.tag == tag) out.push_back(s);
    return out;
  }
  /// The longest gap (fake seconds) between messages of any kind sent to `dest`.
  [[nodiscard]] double longest_gap_to(int dest, double from) const {
    double last = from, gap = 0;
    for (const auto& s : sent)
      if (s.dest == dest) {
        gap = std::max(gap, s.at - last);
        last = s.at;
      }
    return gap;
  }

  std::vector<Sent> sent;
  std::vector<int> abandoned;
  std::vector<double> drains;  ///< the bound of every drain
  bool drain_completes = true;

 private:
  FakeClock& clock_;
  double seconds_per_poll_;
  std::deque<Message> inbox_;
  std::vector<PeerFailure> failed_;
};

}  // namespace tally::parallel::testing
