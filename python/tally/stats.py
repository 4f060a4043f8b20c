"""Exact statistics of sums of uniform integers: the deviation is an exact integer
(2·total − n·(lo+hi)) and there is a single rounding at the end, so ranges far from
zero (lo ≈ 2^50) and the int64 extremes lose nothing."""
import math
from fractions import Fraction


def expected_total(lo, hi, n):
    """n·(lo+hi)/2 exactly: an int, or a Fraction with denominator 2."""
    value = Fraction(n * (lo + hi), 2)
    return value.numerator if value.denominator == 1 else value


def z_score(total, n, lo, hi):
    """(total − n(lo+hi)/2) / sqrt(n(s²−1)/12), s = hi−lo+1; 0.0 for constant draws or n = 0."""
    span = hi - lo + 1
    if n <= 0 or span == 1:
        return 0.0
    twice_deviation = 2 * total - n * (lo + hi)
    # z² = (2·dev)² · 3 / (n·(s²−1)): one exact ratio, rounded once, then the root.
    z_squared = Fraction(3 * twice_deviation * twice_deviation, n * (span * span - 1))
    return math.copysign(math.sqrt(z_squared), twice_deviation)
