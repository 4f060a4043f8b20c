#pragma once
// A test-only hold: tests that must act while tally is at a given point (a second signal
// during the stop's checkpoint write, a kill between a rotation's link and rename, a
// second run while the first holds its lock) make it wait there instead of guessing
// how long it takes to get there, so their verdict never depends on the machine's load.
// Built in always and inert unless the environment asks for it:
//
//   TALLY_TEST_HOLD=<point>:<fifo>[,<point>:<fifo>...]
//
// The first time the process reaches a point it names, it opens the FIFO for reading and
// waits for one byte. The test knows the process is there when its own non-blocking open of
// the FIFO for writing succeeds (tests/support/tallytest.py, Hold), does what it must,
// and writes a byte to let it go on. The wait is bounded (kTestHoldSeconds): a test that
// died never leaves a process held for good. Points: "locked" (paths checked, run lock
// taken, no work done), "stop-write" (a stop's checkpoint about to be written),
// "rotation-link" (a rotation's current checkpoint linked as .prev, the new generation
// not yet renamed onto it: current and previous are one file), "verify-read" (`tally
// verify` about to read the file), "verify-report" (verify's replay done, statistics
// and report not yet made).
namespace tally::io {

inline constexpr double kTestHoldSeconds = 600;

/// Waits at `point` when TALLY_TEST_HOLD names it (first time only); else returns at once.
void test_hold(const char* point);

}  // namespace tally::io
