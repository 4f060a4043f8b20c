#pragma once
// RAII for the MPI session and thin typed helpers for the few messages tally sends.
// MPI_THREAD_FUNNELED: only the main thread of a rank calls MPI; OpenMP threads only
// compute, so the cheaper level suffices (docs/parallel.md).
#include <mpi.h>

#include <cstdint>
#include <span>
#include <vector>

namespace tally::parallel::mpi {

/// Initialises MPI on construction and finalises it on destruction (never throws).
class Session {
 public:
  Session(int& argc, char**& argv);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  [[nodiscard]] int rank() const { return rank_; }
  [[nodiscard]] int size() const { return size_; }
  [[nodiscard]] MPI_Comm comm() const { return MPI_COMM_WORLD; }

 private:
  int rank_ = 0;
  int size_ = 1;
};

/// Message tags of the coordinator/worker protocol (docs/parallel.md).
enum Tag : int {
  kResult = 1,  ///< worker → 0: results of one batch (maybe none) and a request for one more
  kAssign = 2,  ///< 0 → worker: one batch, or none with a reason
  kStopReq = 3, ///< worker → 0: this rank received a stop signal
  kBye = 4,     ///< worker → 0: no outstanding requests, here is my timing
  kFinal = 5,   ///< 0 → worker: the exit code everyone returns
  kVerdict = 6, ///< 0 → all (broadcast): start-up check verdict
};

inline void send(std::span<const std::uint64_t> words, int dest, Tag tag, MPI_Comm comm) {
  MPI_Send(words.data(), int(words.size()), MPI_UINT64_T, dest, tag, comm);
}

/// Receives a message already matched by probe into a vector sized to fit.
inline std::vector<std::uint64_t> receive(const MPI_Status& probed, MPI_Comm comm) {
  int count = 0;
  MPI_Get_count(&probed, MPI_UINT64_T, &count);
  std::vector<std::uint64_t> words(std::size_t(count > 0 ? count : 0));
  MPI_Recv(words.data(), count, MPI_UINT64_T, probed.MPI_SOURCE, probed.MPI_TAG, comm, MPI_STATUS_IGNORE);
  return words;
}

/// Non-blocking probe for any message from `source` (MPI_ANY_SOURCE allowed).
inline bool probe(int source, int tag, MPI_Comm comm, MPI_Status& status) {
  int flag = 0;
  MPI_Iprobe(source, tag, comm, &flag, &status);
  return flag != 0;
}

}  // namespace tally::parallel::mpi
