#pragma once
// Bounded point-to-point messages over MPI: every send and receive is non-blocking and
// tracked until it completes, within the transfer deadline for its size
// (PeerTiming::transfer), and a peer whose message fails or stays incomplete past it is
// reported, never waited on forever. Receives use matched probes (MPI_Improbe /
// MPI_Imrecv): the probed message is the one received. A large message in progress
// holds nobody: polling goes on, and messages without words (heartbeats) overtake it.
#include <mpi.h>

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "parallel/clock.hpp"
#include "parallel/peer_timing.hpp"

namespace tally::parallel {

struct Message {
  int source = 0;
  int tag = 0;
  std::vector<std::uint64_t> words;
};

struct PeerFailure {
  int rank = 0;
  std::string why;
};

/// Point-to-point messages between ranks, as the coordinators and the worker loop see
/// them: MpiTransport in a job, a fake in unit tests (tests/parallel/worker_test.cpp).
class Transport {
 public:
  virtual ~Transport() = default;
  /// Posts a send that never blocks.
  virtual void send(int dest, int tag, std::vector<std::uint64_t> words) = 0;
  /// The next message from `source` (MPI_ANY_SOURCE: anyone) if one has arrived.
  [[nodiscard]] virtual std::optional<Message> poll(int source = MPI_ANY_SOURCE) = 0;
  /// Peers that failed since the last call.
  [[nodiscard]] virtual std::vector<PeerFailure> failures() = 0;
  /// Forgets messages to and from a rank declared lost.
  virtual void abandon(int rank) = 0;
  /// Waits until every send has completed, at most `seconds`; false if not all did.
  [[nodiscard]] virtual bool drain(double seconds) = 0;
};

class MpiTransport final : public Transport {
 public:
  /// `timing`: the transfer deadlines of sends and started receives.
  MpiTransport(MPI_Comm comm, const Clock& clock, PeerTiming timing);
  MpiTransport(const MpiTransport&) = delete;
  MpiTransport& operator=(const MpiTransport&) = delete;

  /// Posts a non-blocking send; the words are kept until it completes.
  void send(int dest, int tag, std::vector<std::uint64_t> words) override;
  /// The next message from `source` (MPI_ANY_SOURCE: anyone) if one has arrived whole.
  /// Messages of one source come in the order sent, except that messages without words
  /// may come earlier. A receive that cannot complete in time is reported by failures().
  [[nodiscard]] std::optional<Message> poll(int source = MPI_ANY_SOURCE) override;
  /// Completes finished sends; returns peers that failed since the last call.
  [[nodiscard]] std::vector<PeerFailure> failures() override;
  /// Forgets sends to a rank declared lost (their buffers are kept: MPI may still read them).
  void abandon(int rank) override;
  /// Waits until every tracked send has completed, at most `seconds`; false if not all did.
  [[nodiscard]] bool drain(double seconds) override;

 private:
  struct Pending {
    int dest;
    MPI_Request request;
    std::vector<std::uint64_t> words;
    double since;
  };
  struct Receiving {
    Message message;
    MPI_Request request;
    double since;
    bool done = false;
  };
  void fail(int rank, std::string why);
  [[nodiscard]] double deadline(std::size_t words) const { return timing_.transfer(double(words) * 8); }
  /// Matches every message that has arrived (its envelope at least) and starts receiving it.
  void start_receives();
  /// Tests the receives in progress; fails a peer whose receive erred or ran late.
  void progress_receives();
  /// Forgets completed sends; fails a peer whose send erred or ran late.
  void complete_sends();
  static constexpr std::size_t kFirstSendCheck = 64;

  MPI_Comm comm_;
  const Clock& clock_;
  PeerTiming timing_;
  std::vector<Pending> pending_;
  std::deque<Receiving> receiving_;  // matched, in the order matched (per source: the order sent)
  std::vector<Pending> abandoned_;  // never freed: MPI may still touch the buffers
  std::vector<PeerFailure> failed_;
  std::size_t complete_sends_at_ = kFirstSendCheck;  // send() completes sends when this many are pending
};

/// This process's host name (the node's, under a launcher).
[[nodiscard]] std::string host_name();

}  // namespace tally::parallel
