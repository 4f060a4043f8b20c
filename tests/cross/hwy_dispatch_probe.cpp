// Which Highway target run-time dispatch runs on this CPU, and at what vector width:
// checked against the expected ones (the cross tests pass them per emulated CPU), with a
// Philox-style 32×32→64 product (MulEven) summed in that target's code and compared bit
// for bit with a scalar loop. Proves the arm64 libhwy dispatches to NEON and SVE under qemu.
// Usage: tally_hwy_dispatch_probe EXPECTED_TARGET EXPECTED_BITS    e.g. SVE_256 256
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "hwy_dispatch_probe.cpp"  // re-included once per target
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#ifndef TALLY_HWY_PROBE_RAN  // once, not per target: every target returns the same type
#define TALLY_HWY_PROBE_RAN
namespace tally::probe {
struct Ran {
  std::uint64_t sum;
  std::int64_t target;  // the target whose code ran
  std::size_t bits;     // its vector width
};
}  // namespace tally::probe
#endif

HWY_BEFORE_NAMESPACE();
namespace tally::probe {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

/// Σ ⌊a[i] · m / 2^32⌋ over the even i: the high half of Philox's products.
Ran SumHighProducts(const std::uint32_t* a, std::size_t n, std::uint32_t m) {
  const hn::ScalableTag<std::uint32_t> d;
  const hn::RepartitionToWide<decltype(d)> dw;
  const std::size_t lanes = hn::Lanes(d);
  auto acc = hn::Zero(dw);
  const auto mul = hn::Set(d, m);
  std::size_t i = 0;
  for (; i + lanes <= n; i += lanes) acc = hn::Add(acc, hn::ShiftRight<32>(hn::MulEven(hn::LoadU(d, a + i), mul)));
  std::uint64_t sum = hn::GetLane(hn::SumOfLanes(dw, acc));
  for (; i < n; i += 2) sum += (std::uint64_t{a[i]} * m) >> 32;  // n is even, lanes are
  return {sum, HWY_TARGET, lanes * 32};
}

}  // namespace HWY_NAMESPACE
}  // namespace tally::probe
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace tally::probe {
HWY_EXPORT(SumHighProducts);
}  // namespace tally::probe

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s EXPECTED_TARGET EXPECTED_BITS\n", argv[0]);
    return 2;
  }
  constexpr std::size_t kCount = 4098;  // not a multiple of any vector: the remainder runs too
  static std::uint32_t a[kCount];
  for (std::size_t i = 0; i < kCount; ++i) a[i] = std::uint32_t(i * 2654435761u);
  constexpr std::uint32_t kPhiloxM0 = 0xD2511F53u;
  std::uint64_t expected = 0;
  for (std::size_t i = 0; i < kCount; i += 2) expected += (std::uint64_t{a[i]} * kPhiloxM0) >> 32;

  const auto ran = HWY_DYNAMIC_DISPATCH(tally::probe::SumHighProducts)(a, kCount, kPhiloxM0);
  const std::string target = hwy::TargetName(ran.target);
  std::printf("supported:");
  for (std::int64_t bit = 1; bit != 0 && bit <= hwy::SupportedTargets(); bit <<= 1)
    if ((hwy::SupportedTargets() & bit) != 0) std::printf(" %s", hwy::TargetName(bit));
  std::printf("\nran %s, %zu-bit vectors: sum %llu, scalar %llu\n", target.c_str(), ran.bits,
              static_cast<unsigned long long>(ran.sum), static_cast<unsigned long long>(expected));
  bool ok = true;
  if (target != argv[1]) {
    std::printf("FAIL: dispatch ran %s, expected %s\n", target.c_str(), argv[1]);
    ok = false;
  }
  if (std::to_string(ran.bits) != argv[2]) {
    std::printf("FAIL: %zu-bit vectors, expected %s\n", ran.bits, argv[2]);
    ok = false;
  }
  if (ran.sum != expected) {
    std::printf("FAIL: the vector sum differs from the scalar one\n");
    ok = false;
  }
  return ok ? 0 : 1;
}
#endif  // HWY_ONCE
