#include "parallel/transport.hpp"

#include <unistd.h>

#include <algorithm>
#include <utility>

#include "core/error.hpp"
#include "parallel/backoff.hpp"
#include "parallel/mpi.hpp"

namespace tally::parallel {

MpiTransport::MpiTransport(MPI_Comm comm, const Clock& clock, PeerTiming timing)
    : comm_(comm), clock_(clock), timing_(timing) {}

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
  // A side that only sends for a while (rank 0 heartbeating through a long checkpoint
  // load, say) completes its finished sends here too, so that they cannot pile up;
  // doubling the mark keeps this O(1) per send.
  if (pending_.size() >= complete_sends_at_) {
    complete_sends();
    complete_sends_at_ = std::max<std::size_t>(kFirstSendCheck, 2 * pending_.size());
  }
}

void MpiTransport::start_receives() {
  for (;;) {
    int flag = 0;
    MPI_Message handle = MPI_MESSAGE_NULL;
    MPI_Status status;
    if (const int rc = MPI_Improbe(MPI_ANY_SOURCE, MPI_ANY_TAG, comm_, &flag, &handle, &status); rc != MPI_SUCCESS)
      throw Error(ExitCode::kFailure, "MPI error while waiting for messages: " + mpi::error_text(rc));
    if (!flag) return;
    int count = 0;
    MPI_Get_count(&status, MPI_UINT64_T, &count);
    Receiving r{{status.MPI_SOURCE, status.MPI_TAG, std::vector<std::uint64_t>(std::size_t(std::max(count, 0)))},
                MPI_REQUEST_NULL, clock_.now()};
    // The matched message itself: no other message of the same source and tag can take its place.
    if (const int rc = MPI_Imrecv(r.message.words.data(), count, MPI_UINT64_T, &handle, &r.request); rc != MPI_SUCCESS) {
      fail(r.message.source, "MPI error receiving from it: " + mpi::error_text(rc));
      continue;
    }
    receiving_.push_back(std::move(r));
  }
}

void MpiTransport::progress_receives() {
  const double now = clock_.now();
  std::vector<int> failed;
  for (auto& r : receiving_) {
    if (r.done) continue;
    int done = 0;
    const int rc = MPI_Test(&r.request, &done, MPI_STATUS_IGNORE);
    if (rc != MPI_SUCCESS) {
      fail(r.message.source, "MPI error receiving from it: " + mpi::error_text(rc));
      failed.push_back(r.message.source);
    } else if (!done && now - r.since > deadline(r.message.words.size())) {
      fail(r.message.source, "a message from it did not complete in " + std::to_string(int(now - r.since)) + " s");
      failed.push_back(r.message.source);
    }
    r.done = done != 0;
  }
  // A failed peer's later messages are not delivered either (their order is lost).
  // MPI may still write into the buffers: they are kept (never freed) with the requests.
  std::erase_if(receiving_, [&](Receiving& r) {
    if (std::find(failed.begin(), failed.end(), r.message.source) == failed.end()) return false;
    if (!r.done) abandoned_.push_back({r.message.source, r.request, std::move(r.message.words), r.since});
    return true;
  });
}

std::optional<Message> MpiTransport::poll(int source) {
  start_receives();
  progress_receives();
  std::vector<int> busy;  // sources with an earlier message still arriving
  for (auto it = receiving_.begin(); it != receiving_.end(); ++it) {
    const int from = it->message.source;
    if (source != MPI_ANY_SOURCE && from != source) continue;
    const bool behind = std::find(busy.begin(), busy.end(), from) != busy.end();
    if (it->done && (!behind || it->message.words.empty())) {
      Message m = std::move(it->message);
      receiving_.erase(it);
      return m;
    }
    if (!it->done) busy.push_back(from);
  }
  return std::nullopt;
}

std::vector<PeerFailure> MpiTransport::failures() {
  progress_receives();
  complete_sends();
  return std::exchange(failed_, {});
}

void MpiTransport::complete_sends() {
  const double now = clock_.now();
  std::erase_if(pending_, [&](Pending& p) {
    int done = 0;
    const int rc = MPI_Test(&p.request, &done, MPI_STATUS_IGNORE);
    if (rc != MPI_SUCCESS) {
      fail(p.dest, "MPI error sending to it: " + mpi::error_text(rc));
      return true;
    }
    if (!done && now - p.since > deadline(p.words.size())) {
      fail(p.dest, "a message to it was not taken for " + std::to_string(int(now - p.since)) + " s");
      abandoned_.push_back(std::move(p));
      return true;
    }
    return done != 0;
  });
}

void MpiTransport::abandon(int rank) {
  std::erase_if(pending_, [&](Pending& p) {
    if (p.dest != rank) return false;
    abandoned_.push_back(std::move(p));
    return true;
  });
  std::erase_if(receiving_, [&](Receiving& r) {
    if (r.message.source != rank) return false;
    if (!r.done) abandoned_.push_back({rank, r.request, std::move(r.message.words), r.since});
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
