#pragma once
// Bounded point-to-point messages over MPI: every send is non-blocking and tracked
// until it completes, every receive is finished within a deadline, and a peer whose
// send fails or stays incomplete past the deadline is reported, never waited on forever.
#include <mpi.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "parallel/clock.hpp"

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

class MpiTransport {
 public:
  /// `deadline`: seconds a send or a started receive may take before its peer is failed.
  MpiTransport(MPI_Comm comm, const Clock& clock, double deadline);
  MpiTransport(const MpiTransport&) = delete;
  MpiTransport& operator=(const MpiTransport&) = delete;

  /// Posts a non-blocking send; the words are kept until it completes.
  void send(int dest, int tag, std::vector<std::uint64_t> words);
  /// The next message from `source` (MPI_ANY_SOURCE: anyone) if one is waiting.
  /// A receive that cannot complete in time is reported by failures().
  [[nodiscard]] std::optional<Message> poll(int source = MPI_ANY_SOURCE);
  /// Completes finished sends; returns peers that failed since the last call.
  [[nodiscard]] std::vector<PeerFailure> failures();
  /// Forgets sends to a rank declared lost (their buffers are kept: MPI may still read them).
  void abandon(int rank);
  /// Waits until every tracked send has completed, at most `seconds`; false if not all did.
  [[nodiscard]] bool drain(double seconds);

 private:
  struct Pending {
    int dest;
    MPI_Request request;
    std::vector<std::uint64_t> words;
    double since;
  };
  void fail(int rank, std::string why);

  MPI_Comm comm_;
  const Clock& clock_;
  double deadline_;
  std::vector<Pending> pending_;
  std::vector<Pending> abandoned_;  // never freed: MPI may still touch the buffers
  std::vector<PeerFailure> failed_;
};

/// This process's host name (the node's, under a launcher).
[[nodiscard]] std::string host_name();

}  // namespace tally::parallel
