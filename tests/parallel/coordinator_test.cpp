// The run's rank 0 loop (Coordinator: Dispatcher + Peers + rank 0's own batches and
// checkpoints) without MPI: a fake transport whose worker (rank 1) is simulated by the
// test with the real kernel, and a fake clock. A worker that falls silent is lost and
// its batches are recomputed (bit-identical sums); rank 0 busy writing a checkpoint
// keeps telling the worker that it is alive; a stop ends once the worker said goodbye,
// and the final word goes to it.
#include "parallel/coordinator.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <optional>

#include "fake_transport.hpp"
#include "parallel/batch.hpp"
#include "parallel/peers.hpp"
#include "parallel/protocol.hpp"

namespace tally::parallel {
namespace {

using testing::FakeClock;
using testing::FakeTransport;

/// Worker rank 1 as the test plays it: two requests in flight, each assignment computed
/// at once with the real kernel, goodbye when the supply ends. Heartbeats when it said
/// nothing for a heartbeat interval. After `silent_after` assignments it says nothing more.
struct SimulatedWorker {
  SimulatedWorker(FakeTransport& link, FakeClock& fake_clock, const core::Config& config, double heartbeat_seconds)
      : transport(link), clock(fake_clock), kernel(config), heartbeat(heartbeat_seconds) {
    transport.on_send = [this](const testing::Sent& m) { on_message(m); };
    transport.on_poll = [this] {
      if (answered <= silent_after && !said_bye && clock.now() - last_said >= heartbeat)
        say(protocol::kHeartbeat, {});
    };
  }
  void start(bool stop_request = false) {
    say(protocol::kHello, protocol::encode_text("node-1"));
    if (stop_request) say(protocol::kStopReq, {std::uint64_t(SIGUSR1)});
    for (int i = 0; i < in_flight; ++i) say(protocol::kResult, protocol::encode(BatchResult{}));
  }
  void say(int tag, std::vector<std::uint64_t> words) {
    transport.deliver(1, tag, std::move(words));
    last_said = clock.now();
  }
  void on_message(const testing::Sent& m) {
    if (m.dest != 1) return;
    if (m.tag == protocol::kFinal) final_words.push_back(protocol::decode_final(m.words));
    if (m.tag != protocol::kAssign || ++answered > silent_after) return;
    const auto assign = protocol::decode_assign(m.words);
    if (assign.batch.count > 0) {
      say(protocol::kResult, protocol::encode(*compute_batch(kernel, assign.batch, 1, false)));
      ++batches;
    } else if (--in_flight == 0) {
      say(protocol::kBye, protocol::encode(io::RankTiming{std::int64_t(batches), 1.0, 0}, 1));
      said_bye = true;
    }
  }

  FakeTransport& transport;
  FakeClock& clock;
  core::Kernel kernel;
  double heartbeat;
  int in_flight = 2;
  int answered = 0;
  int batches = 0;
  int silent_after = std::numeric_limits<int>::max();
  bool said_bye = false;
  double last_said = 0;
  std::vector<protocol::Final> final_words;
};

core::Config config() {
  core::Config c;
  c.tasks = 3;
  c.samples = 40000;
  c.chunk = 500;  // 240 chunks
  return c;
}

constexpr double kPeerTimeout = 1;  // heartbeat 0.2 s

/// Rank 0 with worker rank 1 simulated, in a temporary folder for the checkpoint.
class RankZeroWithOneWorker : public ::testing::Test {
 protected:
  RankZeroWithOneWorker()
      : dir(std::filesystem::temp_directory_path() / ("tally-coordinator-test-" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    settings.config = config();
    settings.threads = 1;
    settings.peer_timeout = kPeerTimeout;
    settings.checkpoint_every = 0;
    settings.progress = Progress::Mode::kOff;
    settings.output = dir / "out.h5";
  }
  ~RankZeroWithOneWorker() override { std::filesystem::remove_all(dir); }

  ExitCode run(bool stop_request = false) {
    store.emplace(settings.checkpoint_path(), io::FileLocking::kBestEffort);
    worker.start(stop_request);
    coordinator.emplace(settings, record, *store, &transport, 2, clock);
    return coordinator->run();
  }
  void expect_exact() const {
    ASSERT_TRUE(record.ledger.complete());
    const core::Kernel kernel(record.ledger.config());
    for (core::ChunkId id = 0; id < record.ledger.size(); ++id)
      ASSERT_EQ(record.ledger.chunk(id), kernel.sum_chunk(id)) << id;
  }

  std::filesystem::path dir;
  RunSettings settings;
  io::RunRecord record{core::Ledger(config())};
  FakeClock clock;
  const double start = clock.now();
  FakeTransport transport{clock, 0.05};
  SimulatedWorker worker{transport, clock, config(), PeerTiming{kPeerTimeout}.heartbeat()};
  std::optional<io::CheckpointStore> store;
  std::optional<Coordinator> coordinator;
};

TEST_F(RankZeroWithOneWorker, SilentWorkerIsLostAndItsBatchesRecomputed) {
  worker.silent_after = 2;  // takes two batches, then nothing more
  EXPECT_EQ(run(), ExitCode::kOk);
  ASSERT_EQ(record.lost.size(), 1u);
  EXPECT_EQ(record.lost[0].rank, 1);
  EXPECT_EQ(record.lost[0].host, "node-1");
  EXPECT_EQ(record.lost[0].reason.rfind("silent for", 0), 0u) << record.lost[0].reason;
  EXPECT_GT(record.lost[0].chunks_reassigned, 0);  // the batches it held
  EXPECT_TRUE(transport.abandoned.empty());  // silence: nothing to abandon in MPI
  expect_exact();
}

TEST_F(RankZeroWithOneWorker, RankZeroWritingACheckpointIsNotTakenForDead) {
  // Every checkpoint write is held 0.2 s (real) on its helper thread; the fake clock moves
  // on with every poll of the MPI thread, so each write lasts several --peer-timeouts in
  // fake seconds. The worker hears from rank 0 at the heartbeat interval throughout, and
  // rank 0 does not take the worker for lost.
  settings.checkpoint_every = 0.2;
  ::setenv("TALLY_TEST_CHECKPOINT_DELAY", "0.2", 1);
  const ExitCode code = run();
  ::unsetenv("TALLY_TEST_CHECKPOINT_DELAY");
  EXPECT_EQ(code, ExitCode::kOk);
  EXPECT_TRUE(store->exists());  // at least one write happened
  EXPECT_TRUE(record.lost.empty()) << record.lost.at(0).reason;
  EXPECT_GT(worker.batches, 0);
  // One keep-alive round polls a few times (0.05 s each) between heartbeats.
  EXPECT_LE(transport.longest_gap_to(1, start), settings.timing().heartbeat() + 0.25);
  expect_exact();
}

TEST_F(RankZeroWithOneWorker, StopThenGoodbyesThenTheFinalWord) {
  EXPECT_EQ(run(true), ExitCode::kStopped);  // a SIGUSR1 reached rank 1 before any work
  EXPECT_EQ(coordinator->stop_reason(), "SIGUSR1 on rank 1");
  EXPECT_TRUE(worker.said_bye);
  EXPECT_TRUE(coordinator->dispatch().peers().has_said_goodbye(1));
  EXPECT_FALSE(record.ledger.complete());
  EXPECT_TRUE(record.lost.empty());
  // What run_mpi does next: the final word to the living, bounded.
  send_final_word(transport, coordinator->dispatch().peers(), {int(ExitCode::kStopped), false}, 1.0);
  ASSERT_EQ(worker.final_words.size(), 1u);
  EXPECT_EQ(worker.final_words[0].code, int(ExitCode::kStopped));
  EXPECT_EQ(transport.drains, (std::vector<double>{1.0}));
}

}  // namespace
}  // namespace tally::parallel
