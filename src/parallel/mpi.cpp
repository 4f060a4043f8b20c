#include "parallel/mpi.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

#include "core/error.hpp"
#include "io/hdf5.hpp"

namespace tally::parallel::mpi {

Session::Session(int& argc, char**& argv) {
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  if (provided < MPI_THREAD_FUNNELED) {
    MPI_Finalize();
    throw Error(ExitCode::kFailure, "this MPI library does not provide MPI_THREAD_FUNNELED");
  }
  io::h5::start_library();  // here, on the MPI thread (io/hdf5.hpp)
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
}

Session::~Session() {
  if (finalized_) return;
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

void Session::finalize(int code, double bound) {
  if (finalized_) return;
  finalized_ = true;
  // A watchdog thread (it calls no MPI) ends the process if MPI_Finalize hangs.
  std::mutex mutex;
  std::condition_variable done_cv;
  bool done = false;
  std::thread watchdog([&] {
    std::unique_lock lock(mutex);
    if (!done_cv.wait_for(lock, std::chrono::duration<double>(bound), [&] { return done; })) {
      std::fflush(nullptr);
      ::_exit(code);
    }
  });
  MPI_Finalize();
  {
    std::lock_guard lock(mutex);
    done = true;
  }
  done_cv.notify_one();
  watchdog.join();
}

std::string library_version() {
  char text[MPI_MAX_LIBRARY_VERSION_STRING] = {};
  int length = 0;
  if (MPI_Get_library_version(text, &length) != MPI_SUCCESS) return "unknown";
  std::string out(text, std::size_t(std::max(length, 0)));
  out = out.substr(0, out.find('\n'));
  while (!out.empty() && (out.back() == ' ' || out.back() == '\0')) out.pop_back();
  return out;
}

std::string error_text(int code) {
  char text[MPI_MAX_ERROR_STRING] = {};
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) return "MPI error " + std::to_string(code);
  return std::string(text, std::size_t(length));
}

}  // namespace tally::parallel::mpi
