#include "parallel/progress.hpp"

#include <fmt/core.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>

#include "io/json.hpp"

namespace tally::parallel {

Progress::Progress(Mode mode, double interval_seconds, std::uint64_t total_draws, std::uint64_t done_before)
    : enabled_(mode != Mode::kOff),
      terminal_(isatty(STDERR_FILENO) != 0),
      interval_(terminal_ ? 0.2 : interval_seconds),
      total_(total_draws),
      done_before_(done_before),
      start_(Clock::now()),
      last_(start_) {}

void Progress::update(std::uint64_t done) {
  if (!enabled_) return;
  const auto now = Clock::now();
  if (std::chrono::duration<double>(now - last_).count() < interval_) return;
  last_ = now;
  print(done, false);
}

void Progress::finish(std::uint64_t done) {
  if (!enabled_) return;
  // A Slurm log gets a last line only if the run lasted long enough to have had lines.
  if (terminal_ || std::chrono::duration<double>(Clock::now() - start_).count() >= interval_) print(done, true);
}

void Progress::print(std::uint64_t done, bool final) {
  const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
  const double rate = elapsed > 0 ? double(done - done_before_) / elapsed : 0.0;
  const double percent = total_ ? 100.0 * double(done) / double(total_) : 100.0;
  const double eta = rate > 0 ? double(total_ - done) / rate : 0.0;
  if (terminal_) {
    constexpr int kWidth = 30;
    const int filled = int(percent / 100.0 * kWidth);
    fmt::print(stderr, "\r[{:<{}}] {:5.1f}%  {:.3g} numbers/s  ETA {:.0f}s ", std::string(std::size_t(filled), '#'),
               kWidth, percent, rate, eta);
    if (final) fmt::print(stderr, "\n");
  } else {
    // Rounded like the terminal bar; io::dump writes a non-finite rate as null.
    const auto round_to = [](double x, double unit) { return std::round(x / unit) * unit; };
    fmt::print(stderr, "{}\n",
               io::dump({{"progress", round_to(percent / 100.0, 1e-4)}, {"done", done}, {"total", total_},
                         {"numbers_per_second", rate}, {"eta_seconds", round_to(eta, 0.1)},
                         {"elapsed_seconds", round_to(elapsed, 0.1)}}));
  }
  std::fflush(stderr);
}

}  // namespace tally::parallel
