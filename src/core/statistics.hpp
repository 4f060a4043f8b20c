#pragma once
// Exact moments of sums of uniform integers, for the z-scores in results files and
// `tally verify`. A draw uniform on [lo, hi] (span s) has mean (lo+hi)/2 and variance
// (s²−1)/12; a sum of n independent draws has n times both. The deviation of a sum is
// an exact integer (2·sum − n·(lo+hi), in 128 bits) rounded once, so ranges far from
// zero (lo ≈ 2^50) and the int64 extremes lose nothing.
#include <cmath>
#include <cstdint>

#include "core/types.hpp"

namespace tally::core {

struct SumMoments {
  Range range;
  std::int64_t n = 0;
  double mean = 0;    ///< n·(lo+hi)/2, rounded to double (display only)
  double stddev = 0;  ///< sqrt(n·(s²−1)/12)

  /// (observed − mean) / stddev from exact integers; 0 when the sum is constant.
  [[nodiscard]] double z_score(i128 observed) const {
    if (n <= 0 || range.span() == 1) return 0.0;
    const u128 span_minus_1 = range.span() - 1;
    // off = observed − n·lo ∈ [0, n·(s−1)] < 2^127, exact in u128's wrap-around arithmetic.
    const u128 off = u128(observed) - u128(n) * u128(i128(range.lo));
    const u128 twice = off * 2;                        // < 2^128
    const u128 middle = u128(n) * span_minus_1;        // n·(s−1) < 2^127
    const bool above = twice >= middle;
    const long double magnitude = static_cast<long double>(above ? twice - middle : middle - twice);
    const long double s = static_cast<long double>(range.span());
    const long double twice_sd = std::sqrt(static_cast<long double>(n) * (s * s - 1) / 3);  // 2·stddev
    return double((above ? magnitude : -magnitude) / twice_sd);
  }
};

[[nodiscard]] inline SumMoments sum_moments(Range range, std::int64_t n) {
  const long double s = static_cast<long double>(range.span());
  const long double mean = (static_cast<long double>(range.lo) + range.hi) / 2 * n;
  const long double variance = (s * s - 1) / 12 * n;
  return {range, n, double(mean), double(std::sqrt(variance))};
}

}  // namespace tally::core
