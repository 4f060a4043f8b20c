#include "parallel/transport.hpp"

#include <unistd.h>

#include <algorithm>

#include "core/error.hpp"
#include "parallel/backoff.hpp"
#include "parallel/mpi.hpp"

namespace tally::parallel {

MpiTransport::MpiTransport(MPI_Comm comm, const Clock& clock, double deadline)
    : comm_(comm), clock_(clock), deadline_(deadline) {}

void MpiTransport::fail(int rank, std::string why) {
  for (const auto& f : failed_)
    if (f.rank == rank) return;
  failed_.push_back({rank, std::move(why)});
}

void MpiTransport::send(int dest, int tag, std::vector<std::uint64_t> words) {
  Pending p{dest, MPI_REQUEST_NULL, std::move(words), clock_.now()};
  const int rc = MPI_Isend(p.words.data(), int(p.words.size()), MPI_UINT64_T, dest, tag, comm_, &p.request);
  if (rc != MPI_SUCCESS) {
    fail(dest, "MPI error sending to it: " + mpi::error_text(rc));
    return;
  }
  pending_.push_back(std::move(p));
}

std::optional<Message> MpiTransport::poll(int source) {
  int flag = 0;
  MPI_Status status;
  if (const int rc = MPI_Iprobe(source, MPI_ANY_TAG, comm_, &flag, &status); rc != MPI_SUCCESS) {
    if (source != MPI_ANY_SOURCE) {
      fail(source, "MPI error probing it: " + mpi::error_text(rc));
      return std::nullopt;
    }
    throw Error(ExitCode::kFailure, "MPI error while waiting for messages: " + mpi::error_text(rc));
  }
  if (!flag) return std::nullopt;
  int count = 0;
  MPI_Get_count(&status, MPI_UINT64_T, &count);
  Message m{status.MPI_SOURCE, status.MPI_TAG, std::vector<std::uint64_t>(std::size_t(std::max(count, 0)))};
  MPI_Request request = MPI_REQUEST_NULL;
  int rc = MPI_Irecv(m.words.data(), count, MPI_UINT64_T, m.source, m.tag, comm_, &request);
  // The message has arrived (at least its envelope): completing it takes moments
  // unless its sender died mid-transfer.
  const double start = clock_.now();
  for (int round = 0, done = 0; rc == MPI_SUCCESS && !done;) {
    rc = MPI_Test(&request, &done, MPI_STATUS_IGNORE);
    if (done || rc != MPI_SUCCESS) break;
    if (clock_.now() - start > deadline_) {
      fail(m.source, "a message from it did not complete");
      return std::nullopt;  // the request is left behind with its buffer: never freed
    }
    idle_pause(round);
  }
  if (rc != MPI_SUCCESS) {
    fail(m.source, "MPI error receiving from it: " + mpi::error_text(rc));
    return std::nullopt;
  }
  return m;
}

std::vector<PeerFailure> MpiTransport::failures() {
  const double now = clock_.now();
  std::erase_if(pending_, [&](Pending& p) {
    int done = 0;
    const int rc = MPI_Test(&p.request, &done, MPI_STATUS_IGNORE);
    if (rc != MPI_SUCCESS) {
      fail(p.dest, "MPI error sending to it: " + mpi::error_text(rc));
      return true;
    }
    if (!done && now - p.since > deadline_) {
      fail(p.dest, "a message to it was not taken for " + std::to_string(int(now - p.since)) + " s");
      abandoned_.push_back(std::move(p));
      return true;
    }
    return done != 0;
  });
  return std::exchange(failed_, {});
}

void MpiTransport::abandon(int rank) {
  std::erase_if(pending_, [&](Pending& p) {
    if (p.dest != rank) return false;
    abandoned_.push_back(std::move(p));
    return true;
  });
}

bool MpiTransport::drain(double seconds) {
  const double start = clock_.now();
  for (int round = 0; !pending_.empty(); idle_pause(round)) {
    for (auto& f : failures()) failed_.push_back(std::move(f));
    if (pending_.empty()) break;
    if (clock_.now() - start > seconds) return false;
  }
  return true;
}

std::string host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "unknown";
  return name;
}

}  // namespace tally::parallel
