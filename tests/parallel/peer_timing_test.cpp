// The peer layer's timing rules (docs/fault-tolerance.md, "Timing rules"): liveness and
// transfer deadlines are apart — a message of any size gets at least the silence
// allowance plus its time on the slowest link considered.
#include "parallel/peer_timing.hpp"

#include <gtest/gtest.h>

namespace tally::parallel {
namespace {

TEST(PeerTiming, RulesAsDocumented) {
  const PeerTiming usual{10}, tight{1}, loose{600};
  EXPECT_DOUBLE_EQ(usual.heartbeat(), 1.0);
  EXPECT_DOUBLE_EQ(tight.heartbeat(), 0.2);
  EXPECT_DOUBLE_EQ(usual.startup_allowance(), 120.0);
  EXPECT_DOUBLE_EQ(loose.startup_allowance(), 600.0);
  EXPECT_DOUBLE_EQ(usual.finalize_bound(), 40.0);
  // A heartbeat is always well inside the silence a peer is allowed.
  for (const auto& t : {usual, tight, loose}) EXPECT_LE(t.heartbeat() * 5, t.silence);
}

TEST(PeerTiming, TransferDeadlineGrowsWithSizeNeverBelowSilence) {
  const PeerTiming t{2};
  EXPECT_DOUBLE_EQ(t.transfer(0), 2.0);
  EXPECT_GT(t.transfer(1e9), t.transfer(1e6));
  // 2 GiB (the id list a share message once carried for 2^28 chunks) is given minutes,
  // not the 2 s of silence that would fail it on any slow link.
  EXPECT_GT(t.transfer(2.0 * (1u << 30)), 200.0);
}

}  // namespace
}  // namespace tally::parallel
