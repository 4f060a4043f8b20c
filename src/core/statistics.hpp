#pragma once
// Exact moments of sums of uniform integers, for the z-scores in results files and
// `tally verify`. A draw uniform on [lo, hi] (span s) has mean (lo+hi)/2 and variance
// (s²−1)/12; a sum of n independent draws has n times both.
#include <cmath>
#include <cstdint>

#include "core/types.hpp"

namespace tally::core {

struct SumMoments {
  double mean = 0;
  double stddev = 0;
  /// (observed − mean) / stddev; 0 when the sum is constant.
  [[nodiscard]] double z_score(i128 observed) const {
    return stddev > 0 ? double((static_cast<long double>(observed) - mean) / stddev) : 0.0;
  }
};

[[nodiscard]] inline SumMoments sum_moments(Range range, std::int64_t n) {
  const long double s = static_cast<long double>(range.span());
  const long double mean = (static_cast<long double>(range.lo) + range.hi) / 2 * n;
  const long double variance = (s * s - 1) / 12 * n;
  return {double(mean), double(std::sqrt(variance))};
}

}  // namespace tally::core
