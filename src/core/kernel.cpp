#include "core/kernel.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <vector>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "core/histogram.hpp"
#include "core/kernel_fast.hpp"
#include "core/kernel_numpy.hpp"

namespace tally::core {

namespace {
std::variant<FastStream, NumpyStream> make_stream(const Config& c) {
  if (c.stream == StreamKind::kFast) return FastStream(c.seed, c.range);
  return NumpyStream(c.seed, c.range);
}

struct Piece {
  std::size_t slot;  // which output chunk it adds to
  TaskId task;
  IndexRange range;
};

constexpr Index kMinPiece = Index{1} << 16;  // below this, thread overhead outweighs the work
constexpr Index kMaxPiece = Kernel::kMaxPiece;
/// A tail needing at most this many more values is finished block by block.
constexpr std::uint64_t kScalarTail = 4096;

#if defined(_OPENMP)
int thread_count(int threads) { return threads > 0 ? threads : omp_get_max_threads(); }
int this_thread() { return omp_get_thread_num(); }
#else
// Built without OpenMP (TALLY_OPENMP=OFF): the pragmas are ignored and one thread runs.
int thread_count(int) { return 1; }
int this_thread() { return 0; }
#endif

/// About eight pieces per thread over `total` units balance uneven work without
/// fine-grain overhead.
Index piece_size(Index total, int threads) {
  return std::max(kMinPiece, std::min(kMaxPiece, total / (Index(threads) * 8) + 1));
}

/// Cuts [r.begin, r.end) of task t into pieces that add to out[slot].
void cut(std::vector<Piece>& pieces, std::size_t slot, TaskId t, IndexRange r, Index piece) {
  for (Index a = r.begin; a < r.end; a += std::min(piece, r.end - a))
    pieces.push_back({slot, t, {a, std::min(a + piece, r.end)}});
}

/// Runs body(i) for i in [0, n) on `threads` OpenMP threads, calling `between` on the
/// calling thread (OpenMP thread 0) after each of its items. Nothing may leave an
/// OpenMP region by an exception (that is std::terminate): the first exception is kept,
/// the remaining items are skipped, and it is rethrown once every thread is out.
/// Returns false when `between` abandoned the work.
template <class Body>
bool for_each_piece(std::int64_t n, [[maybe_unused]] int threads, const Kernel::BetweenPieces& between, const Body& body) {
  std::atomic<bool> cancelled{false};
  std::exception_ptr failure;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) if (n > 1 && threads > 1)
  for (std::int64_t i = 0; i < n; ++i) {
    if (cancelled.load(std::memory_order_relaxed)) continue;
    try {
      body(i);
      if (between && this_thread() == 0 && !between()) cancelled.store(true, std::memory_order_relaxed);
    } catch (...) {
#pragma omp critical(tally_piece_failure)
      if (!failure) failure = std::current_exception();
      cancelled.store(true, std::memory_order_relaxed);
    }
  }
  if (failure) std::rethrow_exception(failure);
  return !cancelled.load();
}

/// Sums every piece in parallel and adds it to out[piece.slot]: exact integer sums, so
/// the result never depends on the thread count or the cut.
bool sum_pieces(const Kernel& kernel, const std::vector<Piece>& pieces, std::span<ChunkSum> out, int threads,
                const Kernel::BetweenPieces& between = {}) {
  std::vector<ChunkSum> partial(pieces.size());
  const bool complete = for_each_piece(std::int64_t(pieces.size()), threads, between, [&](std::int64_t i) {
    partial[std::size_t(i)] = kernel.sum(pieces[std::size_t(i)].task, pieces[std::size_t(i)].range);
  });
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    ChunkSum& target = out[pieces[i].slot];
    target.sum += partial[i].sum;
    target.missing += partial[i].missing;
  }
  return complete;
}

/// Every chunk of `ids` cut into pieces of about the same size (slot = index in ids).
std::vector<Piece> cut_chunks(const Config& config, std::span<const ChunkId> ids, int threads) {
  Index total = 0;
  for (ChunkId id : ids) total += config.indices_of(id).size();
  const Index piece = piece_size(total, threads);
  std::vector<Piece> pieces;
  for (std::size_t slot = 0; slot < ids.size(); ++slot)
    cut(pieces, slot, config.task_of(ids[slot]), config.indices_of(ids[slot]), piece);
  return pieces;
}
}  // namespace

Kernel::Kernel(const Config& config) : config_(config), stream_(make_stream(config)) {}

ChunkSum Kernel::sum(TaskId t, IndexRange r) const {
  if (r.begin >= r.end) return {};
  if (const auto* fast = std::get_if<FastStream>(&stream_)) return sum_fast(*fast, t, r.begin, r.end);
  return sum_numpy(std::get<NumpyStream>(stream_), t, r.begin, r.end);
}

ChunkSum Kernel::sum_reference(TaskId t, IndexRange r) const {
  return std::visit([&](const auto& s) { return s.sum_scalar(t, r.begin, r.end); }, stream_);
}

i128 Kernel::tail(TaskId t, std::uint64_t missing) const {
  i128 out = 0;
  tails(std::span(&t, 1), std::span(&missing, 1), std::span(&out, 1), 1);
  return out;
}

void Kernel::count_chunk(ChunkId id, std::span<std::int64_t> counts) const {
  std::visit([&](const auto& s) { add_counts(s, config_.task_of(id), config_.indices_of(id), counts); }, stream_);
}

void Kernel::count_tail(TaskId t, std::uint64_t missing, std::span<std::int64_t> counts) const {
  if (missing == 0) return;
  add_tail_counts(std::get<NumpyStream>(stream_), t, Index(config_.samples), missing, counts);
}

bool Kernel::sum_chunks(std::span<const ChunkId> ids, std::span<ChunkSum> out, int threads,
                        const BetweenPieces& between) const {
  threads = std::max(threads, 1);
  std::fill(out.begin(), out.end(), ChunkSum{});
  return sum_pieces(*this, cut_chunks(config_, ids, threads), out, threads, between);
}

bool Kernel::count_chunks(std::span<const ChunkId> ids, TaskId first_task, std::span<std::int64_t> counts,
                          int threads, const BetweenPieces& between) const {
  threads = std::max(threads, 1);
  const auto span = std::size_t(config_.range.span());
  const std::vector<Piece> pieces = cut_chunks(config_, ids, threads);
  // One copy of the counts per thread, allocated here: nothing inside the region
  // allocates, and the copies add up exactly in any order.
  std::vector<std::vector<std::int64_t>> local(std::size_t(threads), std::vector<std::int64_t>(counts.size(), 0));
  const bool complete = for_each_piece(std::int64_t(pieces.size()), threads, between, [&](std::int64_t i) {
    const Piece& p = pieces[std::size_t(i)];
    auto row = std::span(local[std::size_t(this_thread())]).subspan((p.task - first_task) * span, span);
    std::visit([&](const auto& s) { add_counts(s, p.task, p.range, row); }, stream_);
  });
  for (const auto& copy : local)
    for (std::size_t i = 0; i < counts.size(); ++i) counts[i] += copy[i];
  return complete;
}

void Kernel::tails(std::span<const TaskId> tasks, std::span<const std::uint64_t> missing, std::span<i128> out,
                   int threads) const {
  threads = thread_count(threads);
  const auto* numpy = std::get_if<NumpyStream>(&stream_);
  struct Pending {
    Index next;          // first raw unit not yet looked at
    std::uint64_t need;  // accepted values still to add
  };
  std::vector<Pending> pending(tasks.size());
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    out[i] = 0;
    pending[i] = {Index(config_.samples), numpy == nullptr ? 0 : missing[i]};
  }
  // While a tail needs many values, its next `need` raw units hold only tail values:
  // sum them with the vector kernel (in parallel pieces) and carry their rejections on.
  for (;;) {
    Index total = 0;
    for (const auto& p : pending) total += p.need > kScalarTail ? p.need : 0;
    if (total == 0) break;
    const Index piece = piece_size(total, threads);
    std::vector<Piece> pieces;
    for (std::size_t i = 0; i < tasks.size(); ++i)
      if (pending[i].need > kScalarTail) cut(pieces, i, tasks[i], {pending[i].next, pending[i].next + pending[i].need}, piece);
    std::vector<ChunkSum> sums(tasks.size());
    sum_pieces(*this, pieces, sums, threads);
    for (std::size_t i = 0; i < tasks.size(); ++i) {
      if (pending[i].need <= kScalarTail) continue;
      out[i] += sums[i].sum;
      pending[i].next += pending[i].need;
      pending[i].need = sums[i].missing;
    }
  }
  // The short remainders, block by block, tasks in parallel.
  (void)for_each_piece(std::int64_t(tasks.size()), threads, {}, [&](std::int64_t i) {
    const auto& p = pending[std::size_t(i)];
    if (p.need > 0) out[std::size_t(i)] += numpy->tail(tasks[std::size_t(i)], p.next, p.need);
  });
}

}  // namespace tally::core
