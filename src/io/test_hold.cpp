#include "io/test_hold.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>

namespace tally::io {

namespace {
/// The FIFO TALLY_TEST_HOLD gives for `point`; empty when it names no such point.
std::string fifo_for(std::string_view spec, std::string_view point) {
  while (!spec.empty()) {
    const auto comma = spec.find(',');
    const std::string_view item = spec.substr(0, comma);
    const auto colon = item.find(':');
    if (colon != std::string_view::npos && item.substr(0, colon) == point) return std::string(item.substr(colon + 1));
    if (comma == std::string_view::npos) break;
    spec.remove_prefix(comma + 1);
  }
  return {};
}
}  // namespace

void test_hold(const char* point) {
  const char* spec = std::getenv("TALLY_TEST_HOLD");
  if (spec == nullptr) return;
  const std::string fifo = fifo_for(spec, point);
  if (fifo.empty()) return;
  {
    static std::mutex mutex;
    static std::set<std::string> passed;
    const std::lock_guard guard(mutex);
    if (!passed.insert(point).second) return;  // the first time only: a test releases it once
  }
  // Non-blocking: the open itself never waits; the test's writer-side open succeeds from
  // now on, which is how it learns that we are here.
  const int fd = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(kTestHoldSeconds);
  char byte = 0;
  // read() gives 0 while no writer is there and EAGAIN while it writes nothing yet.
  while (::read(fd, &byte, 1) != 1 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  ::close(fd);
}

}  // namespace tally::io
