// Test helper: reads "stream seed task lo hi n split" lines and prints the task sum
// modulo 2^64 computed as two pieces [0, split) + [split, n) plus the numpy tail, so
// that Python can hold it against NumPy (numpy_parity.py) or scripts/reference.
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>

#include "core/config.hpp"
#include "core/kernel.hpp"

int main() {
  using namespace tally::core;
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string stream, seed;
    unsigned long long task = 0, n = 0, split = 0;
    long long lo = 0, hi = 0;
    if (!(in >> stream >> seed >> task >> lo >> hi >> n >> split) || split > n) {
      std::fprintf(stderr, "stream_probe: bad line: %s\n", line.c_str());
      return 2;
    }
    Config c;
    c.stream = parse_stream(stream);
    c.seed = parse_u128(seed, "seed");
    c.range = {lo, hi};
    c.samples = static_cast<std::int64_t>(n);
    c.chunk = static_cast<std::int64_t>(n);
    const Kernel kernel(c);
    const ChunkSum left = kernel.sum(task, {0, split}), right = kernel.sum(task, {split, n});
    const std::uint64_t missing = left.missing + right.missing;
    const std::uint64_t sum = std::uint64_t(left.sum) + std::uint64_t(right.sum) + std::uint64_t(kernel.tail(task, missing));
    std::printf("%llu %llu\n", static_cast<unsigned long long>(sum), static_cast<unsigned long long>(missing));
  }
  return 0;
}
