// --max-seconds: honoured only after this start made progress (a requeue loop with a
// tiny limit still finishes), and brought forward by the longest checkpoint write seen,
// so that the stop's own write fits inside the limit.
#include "parallel/time_limit.hpp"

#include <gtest/gtest.h>

namespace tally::parallel {
namespace {

TEST(TimeLimit, NoLimitIsNeverReached) {
  const TimeLimit none(0, 100, 0);
  EXPECT_FALSE(none.reached(1e9, 1000));
}

TEST(TimeLimit, ReachedAfterTheLimitOnceThereIsProgress) {
  const TimeLimit limit(2, 100, 50);  // resumed with 50 draws done
  EXPECT_FALSE(limit.reached(101.9, 60));
  EXPECT_TRUE(limit.reached(102.0, 60));
  EXPECT_TRUE(limit.reached(500, 51));
}

TEST(TimeLimit, WithoutProgressThisStartTheLimitWaits) {
  const TimeLimit tiny(1e-9, 100, 50);
  EXPECT_FALSE(tiny.reached(100, 50));
  EXPECT_FALSE(tiny.reached(10'000, 50));  // nothing done yet: keep going
  EXPECT_TRUE(tiny.reached(100.001, 51));
}

TEST(TimeLimit, TheLongestCheckpointWriteIsKeptAsAMargin) {
  TimeLimit limit(60, 0, 0);
  limit.note_write(5);
  limit.note_write(3);  // a shorter write does not shrink the margin
  EXPECT_DOUBLE_EQ(limit.write_margin(), 5);
  EXPECT_FALSE(limit.reached(54.9, 1));
  EXPECT_TRUE(limit.reached(55.0, 1));
}

}  // namespace
}  // namespace tally::parallel
