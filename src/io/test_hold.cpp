#include "io/test_hold.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

namespace tally::io {

void test_hold(const char* point) {
  const char* spec = std::getenv("TALLY_TEST_HOLD");
  if (spec == nullptr) return;
  const std::string text = spec;
  const auto colon = text.find(':');
  if (colon == std::string::npos || text.compare(0, colon, point) != 0) return;
  static std::atomic<bool> held{false};
  if (held.exchange(true)) return;  // the first time only: a test releases it once
  // Non-blocking: the open itself never waits; the test's writer-side open succeeds from
  // now on, which is how it learns that we are here.
  const int fd = ::open(text.c_str() + colon + 1, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(kTestHoldSeconds);
  char byte = 0;
  // read() gives 0 while no writer is there and EAGAIN while it writes nothing yet.
  while (::read(fd, &byte, 1) != 1 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  ::close(fd);
}

}  // namespace tally::io
