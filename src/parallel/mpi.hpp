#pragma once
// RAII for the MPI session. MPI_THREAD_FUNNELED: only the main thread of a rank calls
// MPI; OpenMP threads only compute, so the cheaper level suffices (docs/parallel.md).
// Errors are returned, not fatal: an error talking to one worker makes the coordinator
// declare that worker lost instead of ending the job.
#include <mpi.h>

#include <string>

namespace tally::parallel::mpi {

/// Initialises MPI on construction; finalises it on destruction unless finalize() or
/// skip_finalize() was called first (never throws).
class Session {
 public:
  Session(int& argc, char**& argv);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  [[nodiscard]] int rank() const { return rank_; }
  [[nodiscard]] int size() const { return size_; }
  [[nodiscard]] MPI_Comm comm() const { return MPI_COMM_WORLD; }

  /// MPI_Finalize, but if it has not returned after `bound` seconds (a peer is dead or
  /// stopped and the launcher keeps it in the job), exit with `code` without it.
  void finalize(int code, double bound);
  /// Leaves MPI without MPI_Finalize: after a peer was lost, finalising could wait on it.
  void skip_finalize() { finalized_ = true; }

 private:
  int rank_ = 0;
  int size_ = 1;
  bool finalized_ = false;
};

/// The first line of MPI_Get_library_version, e.g. "Open MPI v4.1.4, …".
[[nodiscard]] std::string library_version();

/// One line describing an MPI error code.
[[nodiscard]] std::string error_text(int code);

}  // namespace tally::parallel::mpi
