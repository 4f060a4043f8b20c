#include "core/histogram.hpp"

#include <algorithm>

#include "core/stream_fast.hpp"
#include "core/stream_numpy.hpp"

namespace tally::core {

std::string histogram_problem(const Config& c) {
  if (c.range.span() > kMaxHistogramSpan)
    return "--histogram needs a span of at most 65536 values; [" + std::to_string(c.range.lo) + ", " +
           std::to_string(c.range.hi) + "] is wider";
  if (std::uint64_t(c.tasks) * std::uint64_t(c.range.span()) > kMaxHistogramCells)
    return "--histogram needs tasks × span ≤ 2^26 counts; use fewer tasks or a smaller range";
  return {};
}

void add_counts(const FastStream& s, TaskId t, IndexRange r, std::span<std::int64_t> counts) {
  switch (s.mode()) {
    case FastStream::Mode::kConstant: counts[0] += std::int64_t(r.size()); return;
    case FastStream::Mode::kWide:
      for (Index n = r.begin; n < r.end; ++n) ++counts[std::uint64_t(s.value(t, n) - s.range().lo)];
      return;
    case FastStream::Mode::kPacked: break;
  }
  const unsigned k = s.digits();
  const std::uint32_t span = s.span32();
  for (std::uint64_t j = r.begin / k; j * k < r.end; ++j) {
    std::uint32_t v = s.packed_value(t, j, s.block(t, j / 4)[j % 4]);
    for (unsigned i = 0; i < k; ++i, v /= span) {
      const Index n = j * k + i;
      if (n >= r.begin && n < r.end) ++counts[v % span];
    }
  }
}

void add_counts(const NumpyStream& s, TaskId t, IndexRange r, std::span<std::int64_t> counts) {
  if (s.mode() == NumpyStream::Mode::kConstant) {
    counts[0] += std::int64_t(r.size());
    return;
  }
  for (Index u = r.begin; u < r.end; ++u) {
    std::uint64_t d = 0;
    if (s.accept(s.unit(t, u), d)) ++counts[d];
  }
}

void add_tail_counts(const NumpyStream& s, TaskId t, Index n, std::uint64_t missing, std::span<std::int64_t> counts) {
  for (Index u = n; missing > 0; ++u) {
    std::uint64_t d = 0;
    if (s.accept(s.unit(t, u), d)) {
      ++counts[d];
      --missing;
    }
  }
}

}  // namespace tally::core
