// Rank 0 at scale, simulated: the real Dispatcher (ledger, scheduler, peer bookkeeping)
// serves N simulated workers on a fake clock, without MPI. Workers compute nothing: a
// batch takes draws × ns-per-draw / threads of simulated time, and its result message
// (fake sums, a histogram if asked) is encoded as a real worker's would be. Rank 0 is a
// single server: each message and each deadline check (Dispatcher::on_time, every 2 ms
// as Coordinator::answer_workers calls it) is handled when rank 0 is free, and takes the CPU time the Dispatcher spent on it,
// measured here as it runs. So rank 0's utilisation, its queue and the workers' starvation come out
// of the real code's cost. Rank 0's own computing is left out: this measures serving.
//
// Usage: tally_coordinator_bench [--quick] [--timeline] [SCENARIO...]   (docs/performance.md)
#include <malloc.h>
#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <string>
#include <vector>

#include "io/run_record.hpp"
#include "parallel/dispatcher.hpp"

namespace {

using tally::parallel::Batch;
using tally::parallel::BatchResult;
using tally::parallel::Dispatcher;
using tally::parallel::DispatchOptions;
namespace protocol = tally::parallel::protocol;

constexpr double kServeEvery = 0.002;   // how often Coordinator::answer_workers runs while rank 0 computes
constexpr double kLatency = 5e-6;        // one way, rank 0 ↔ worker (a fast interconnect)
constexpr double kHeartbeat = 1.0;       // workers' heartbeat period (default --peer-timeout 10)

struct Scenario {
  std::string name;
  int workers = 1000;
  int threads = 128;
  double ns_per_draw = 0.24;   // per thread: the AVX-512 fast kernel (issue 21's table)
  int chunk_log2 = 30;
  bool histogram = false;
  bool paced = true;           // false: the fixed cap of 2^26 draws per thread (before)
  double seconds = 3;          // simulated length of the run at full speed
};

struct Event {
  double t;
  enum Kind { kWorkerDone, kArrive, kReply, kTick } kind;
  int rank;
  int tag;
  std::vector<std::uint64_t> words;
};
struct Later {
  bool operator()(const Event& a, const Event& b) const { return a.t > b.t; }
};

struct SimWorker {
  std::deque<Batch> queue;
  bool computing = false;
  bool done = false;
  int in_flight = 0;
  double last_told = 0;
  double idle_since = 0;
  double starved = 0;  // seconds with nothing to compute before the run's end
};

std::size_t heap_bytes() { return mallinfo2().uordblks; }

// Rank 0's cost is this thread's CPU time, not wall time: on a shared machine a thread
// taken off its core mid-message would otherwise charge rank 0 for someone else's work.
double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}
// What reading the clock twice costs, taken off every measurement.
double clock_overhead() {
  constexpr int kReads = 200000;
  const double t0 = cpu_seconds();
  for (int i = 0; i < kReads; ++i) (void)cpu_seconds();
  return (cpu_seconds() - t0) / kReads;
}

struct Report {
  double makespan = 0, ideal = 0;
  double busy = 0, busy_window = 0, window = 0;
  double startup = 0;  // when rank 0 first caught up with the initial requests
  std::uint64_t results = 0, requests = 0, heartbeats_in = 0, ticks = 0, heartbeats_out = 0;
  double result_seconds = 0, tick_seconds = 0, other_seconds = 0;
  double max_queue_delay = 0;
  double bytes_per_worker = 0;
  double starved_fraction = 0;
  bool complete = false;
  std::vector<double> busy_per_bucket;  // rank 0's busy seconds per kBucket of simulated time
  std::vector<std::uint64_t> results_per_bucket;
};
constexpr double kBucket = 0.25;

Report simulate(const Scenario& s) {
  tally::core::Config config;
  config.chunk = std::int64_t{1} << s.chunk_log2;
  const double draws_per_second = double(s.workers) * s.threads / (s.ns_per_draw * 1e-9);
  config.tasks = 256;
  const double chunks = std::max(1.0, draws_per_second * s.seconds / double(config.chunk));
  config.samples = std::int64_t(std::ceil(chunks / double(config.tasks))) * config.chunk;

  const int ranks = s.workers + 1;
  tally::io::RunRecord record{tally::core::Ledger(config)};
  const std::size_t heap_ledger = heap_bytes();
  DispatchOptions options;
  options.threads = s.threads;
  options.histogram = s.histogram;
  options.timing.silence = 10;  // heartbeats every kHeartbeat (1 s)
  if (!s.paced) options.batch_seconds = 0.0;
  Dispatcher d(record, ranks, options, 0.0);
  Report rep;
  rep.bytes_per_worker = double(heap_bytes() - heap_ledger) / s.workers;

  std::vector<SimWorker> workers(static_cast<std::size_t>(ranks));
  std::vector<Event> heap;
  auto push = [&](Event e) {
    heap.push_back(std::move(e));
    std::push_heap(heap.begin(), heap.end(), Later{});
  };
  const auto span = std::uint64_t(config.range.span());
  // Nodes are never exactly alike: each worker's speed differs by up to ±5 % (a fixed
  // pseudo-random factor), so that their results do not all arrive in lockstep.
  std::vector<double> seconds_per_draw(static_cast<std::size_t>(ranks));
  std::uint64_t lcg = 0x9e3779b97f4a7c15ull;
  for (auto& spd : seconds_per_draw) {
    lcg = lcg * 6364136223846793005ull + 1442695040888963407ull;
    spd = s.ns_per_draw * 1e-9 / s.threads * (0.95 + 0.1 * double(lcg >> 11) / 0x1p53);
  }

  auto start_next = [&](int r, double now) {
    auto& w = workers[std::size_t(r)];
    if (w.queue.empty()) return;
    const Batch b = w.queue.front();
    w.queue.pop_front();
    w.computing = true;
    w.starved += now - w.idle_since;
    const double draws = double(b.count) * double(config.chunk);
    const double end = now + draws * seconds_per_draw[std::size_t(r)];
    // Heartbeats between pieces while the batch computes (the worker's between-pieces check).
    for (double hb = std::max(now, w.last_told) + kHeartbeat; hb < end; hb += kHeartbeat) {
      push({hb + kLatency, Event::kArrive, r, protocol::kHeartbeat, {}});
      w.last_told = hb;
    }
    BatchResult result;
    result.batch = b;
    result.sums.resize(b.count);
    for (std::uint64_t i = 0; i < b.count; ++i) result.sums[i] = {tally::core::i128(b.first + i), 0};
    if (s.histogram) {
      result.first_task = std::uint64_t(config.task_of(b.first));
      const auto rows = std::uint64_t(config.task_of(b.first + b.count - 1)) - result.first_task + 1;
      result.histogram.assign(rows * span, 1);
    }
    push({end, Event::kWorkerDone, r, protocol::kResult, protocol::encode(result)});
  };

  for (int r = 1; r < ranks; ++r)
    for (int i = 0; i < 2; ++i) {  // two requests in flight from the start
      push({kLatency, Event::kArrive, r, protocol::kResult, protocol::encode(BatchResult{})});
      ++workers[std::size_t(r)].in_flight;
    }
  push({kServeEvery, Event::kTick, 0, 0, {}});

  const double window_begin = 0.25 * s.seconds, window_end = 0.75 * s.seconds;
  double rank0_free = 0;
  std::uint64_t initial = 2 * std::uint64_t(s.workers);
  const double overhead = clock_overhead();

  auto serve = [&](const Event& e, double start) -> double {  // returns rank 0's service time
    const double t0 = cpu_seconds();
    if (e.kind == Event::kTick)
      d.on_time(start);
    else
      d.on_message(e.rank, e.tag, e.words, start);
    auto out = d.take_outgoing();
    const double service = std::max(0.0, cpu_seconds() - t0 - overhead);
    for (auto& o : out) {
      if (o.tag == protocol::kAssign)
        push({start + service + kLatency, Event::kReply, o.dest, o.tag, std::move(o.words)});
      else if (o.tag == protocol::kHeartbeat)
        ++rep.heartbeats_out;
    }
    return service;
  };

  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), Later{});
    Event e = std::move(heap.back());
    heap.pop_back();
    auto& w = workers[std::size_t(e.rank)];
    switch (e.kind) {
      case Event::kWorkerDone:
        w.computing = false;
        w.idle_since = e.t;
        push({e.t + kLatency, Event::kArrive, e.rank, protocol::kResult, std::move(e.words)});
        ++w.in_flight;
        w.last_told = e.t;
        start_next(e.rank, e.t);
        break;
      case Event::kReply: {
        --w.in_flight;
        const auto a = protocol::decode_assign(e.words);
        if (a.batch.count > 0) w.queue.push_back(a.batch);
        if (!w.computing) start_next(e.rank, e.t);
        if (!w.computing && w.queue.empty() && w.in_flight == 0 && !w.done) {
          w.done = true;
          push({e.t + kLatency, Event::kArrive, e.rank, protocol::kBye, protocol::encode(tally::io::RankTiming{}, 0)});
        }
        break;
      }
      case Event::kArrive:
      case Event::kTick: {
        const double start = std::max(e.t, rank0_free);
        rep.max_queue_delay = std::max(rep.max_queue_delay, start - e.t);
        const double service = serve(e, start);
        rank0_free = start + service;
        rep.busy += service;
        const auto bucket = std::size_t(start / kBucket);
        if (rep.busy_per_bucket.size() <= bucket) {
          rep.busy_per_bucket.resize(bucket + 1, 0.0);
          rep.results_per_bucket.resize(bucket + 1, 0);
        }
        rep.busy_per_bucket[bucket] += service;
        if (e.kind == Event::kArrive && e.tag == protocol::kResult) ++rep.results_per_bucket[bucket];
        if (start >= window_begin && start < window_end) rep.busy_window += service;
        if (e.kind == Event::kTick) {
          ++rep.ticks;
          rep.tick_seconds += service;
          if (!d.finished()) push({e.t + kServeEvery, Event::kTick, 0, 0, {}});
        } else if (e.tag == protocol::kResult) {
          const bool request = e.words.size() == 2 && e.words[1] == 0;
          ++(request ? rep.requests : rep.results);
          rep.result_seconds += service;
          if (request && --initial == 0) rep.startup = rank0_free;
        } else {
          if (e.tag == protocol::kHeartbeat) ++rep.heartbeats_in;
          rep.other_seconds += service;
        }
        break;
      }
    }
    if (d.finished() && heap.empty()) break;
  }
  rep.makespan = rank0_free;
  rep.ideal = double(config.total_samples()) / draws_per_second;
  rep.window = window_end - window_begin;
  rep.complete = record.ledger.complete();
  double starved = 0;
  for (const auto& w : workers) starved += w.starved;
  rep.starved_fraction = starved / (double(s.workers) * rep.makespan);
  return rep;
}

std::vector<Scenario> scenarios(bool quick) {
  std::vector<Scenario> out;
  struct Layout {
    int workers, threads, chunk_log2;
    double seconds;
  };
  // Chunks as large as a run of that size needs anyway (the ledger holds at most 2^28)
  // and small enough that the fixed cap (2^26 draws per thread) means one to eight chunks
  // (issue 21's table: 16 ms batches). The last layout runs longer, with chunks of 2^28
  // (a 64 ms batch under the fixed cap), so that the paced run has a steady state
  // between its start-up and its tail within the memory a simulated ledger may take.
  const std::vector<Layout> layouts = quick ? std::vector<Layout>{{1000, 128, 30, 1.0}, {10000, 1, 26, 1.0}}
                                            : std::vector<Layout>{{1000, 128, 30, 4.0},
                                                                  {10000, 128, 30, 4.0},
                                                                  {100000, 1, 26, 4.0},
                                                                  {100000, 1, 28, 12.0}};
  for (const auto& l : layouts)
    for (bool paced : {false, true})
      for (bool histogram : {false, true}) {
        Scenario s;
        s.workers = l.workers;
        s.threads = l.threads;
        s.chunk_log2 = l.chunk_log2;
        s.seconds = l.seconds;
        s.paced = paced;
        s.histogram = histogram;
        s.name = std::to_string(l.workers) + "x" + std::to_string(l.threads) + " c" + std::to_string(l.chunk_log2) +
                 (paced ? " paced" : " fixed-cap") + (histogram ? " hist" : "");
        out.push_back(s);
      }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false, timeline = false;
  std::vector<std::string> only;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0)
      quick = true;
    else if (std::strcmp(argv[i], "--timeline") == 0)
      timeline = true;
    else
      only.emplace_back(argv[i]);
  }
  std::printf("# rank 0 serving N simulated workers (fast kernel 0.24 ns/draw/thread, %g us latency, tick every %g ms)\n",
              kLatency * 1e6, kServeEvery * 1e3);
  std::printf("# %-28s %9s %9s %11s %9s %10s %9s %8s %9s %8s %8s %9s %7s\n", "scenario", "target_s", "results",
              "results/s", "us/result", "tick_us", "busy_win", "busy", "startup_s", "starved", "max_q_ms", "B/worker",
              "complete");
  for (const auto& s : scenarios(quick)) {
    if (!only.empty() && std::find(only.begin(), only.end(), s.name) == only.end()) continue;
    const Report r = simulate(s);
    const double target = s.paced ? tally::parallel::Scheduler::target_batch_seconds(s.workers + 1) : 0.0;
    const double per_result = r.results > 0 ? r.result_seconds / double(r.results + r.requests) : 0;
    std::printf("  %-28s %9.3f %9llu %11.0f %9.2f %10.1f %8.1f%% %7.1f%% %9.3f %7.2f%% %8.1f %9.0f %7s\n",
                s.name.c_str(), target, static_cast<unsigned long long>(r.results), double(r.results) / r.makespan,
                per_result * 1e6, r.ticks ? r.tick_seconds / double(r.ticks) * 1e6 : 0.0,
                100 * r.busy_window / r.window, 100 * r.busy / r.makespan, r.startup, 100 * r.starved_fraction,
                r.max_queue_delay * 1e3, r.bytes_per_worker, r.complete ? "yes" : "NO");
    if (timeline)
      for (std::size_t b = 0; b < r.busy_per_bucket.size(); ++b)
        std::printf("    t %5.2f-%5.2f s  rank 0 busy %5.1f%%  results %9llu\n", double(b) * kBucket,
                    double(b + 1) * kBucket, 100 * r.busy_per_bucket[b] / kBucket,
                    static_cast<unsigned long long>(r.results_per_bucket[b]));
    std::fflush(stdout);
  }
  return 0;
}
