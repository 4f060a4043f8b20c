#include "parallel/signals.hpp"

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <initializer_list>

namespace tally::parallel {

namespace {
// Read by every thread of the run loop and written by the handler: a lock-free atomic
// is both async-signal-safe and a proper cross-thread publication (volatile is neither
// across threads).
std::atomic<int> g_stop_signal{0};
static_assert(std::atomic<int>::is_always_lock_free, "the stop flag must be usable from a signal handler");

// A second stop signal while the first is being honoured (say a checkpoint write hangs
// on a dead file system) exits at once with the shell's 128+signal code. Nothing on
// disk is harmed: every file is written to a temp name and renamed, so the previous
// checkpoint is intact.
extern "C" void on_stop_signal(int signal_number) {
  int expected = 0;
  if (!g_stop_signal.compare_exchange_strong(expected, signal_number)) _exit(128 + signal_number);
}
}  // namespace

void install_stop_handlers() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  // SIGHUP: a dropped ssh session is a stop request like any other, not a kill.
  for (int s : {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2}) sigaction(s, &action, nullptr);
}

int stop_signal() { return g_stop_signal.load(); }

void request_stop(int signal_number) {
  int expected = 0;
  g_stop_signal.compare_exchange_strong(expected, signal_number);
}

std::string signal_name(int s) {
  switch (s) {
    case SIGTERM: return "SIGTERM";
    case SIGINT: return "SIGINT";
    case SIGHUP: return "SIGHUP";
    case SIGUSR1: return "SIGUSR1";
    case SIGUSR2: return "SIGUSR2";
    default: return "signal " + std::to_string(s);
  }
}

}  // namespace tally::parallel
