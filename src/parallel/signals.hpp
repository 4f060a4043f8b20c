#pragma once
// Stop requests: SIGTERM, SIGINT, SIGUSR1 and SIGUSR2 set one flag that the run loop
// polls; the run then checkpoints and exits 85. The flag is the program's only
// mutable global, because a signal handler can touch nothing else.
#include <string>

namespace tally::parallel {

/// Installs the handlers (idempotent).
void install_stop_handlers();
/// The signal that asked us to stop, 0 if none.
[[nodiscard]] int stop_signal();
/// For tests and for --max-seconds: request a stop as if signalled.
void request_stop(int signal_number);
/// "SIGTERM", "SIGUSR1", … for messages.
[[nodiscard]] std::string signal_name(int signal_number);

}  // namespace tally::parallel
