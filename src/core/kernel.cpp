#include "core/kernel.hpp"

#include <omp.h>

#include <algorithm>
#include <vector>


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
constexpr Index kMaxPiece = Index{1} << 24;  // a few ms on any path: ticks stay frequent
/// A tail needing at most this many more values is finished block by block.
constexpr std::uint64_t kScalarTail = 4096;

int thread_count(int threads) { return threads > 0 ? threads : omp_get_max_threads(); }

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

/// Sums every piece in parallel and adds it to out[piece.slot]: exact integer sums, so
/// the result never depends on the thread count or the cut.
/// `tick`, when given, runs on the calling thread (OpenMP thread 0) between its pieces.
void sum_pieces(const Kernel& kernel, const std::vector<Piece>& pieces, std::span<ChunkSum> out, int threads,
                const std::function<void()>& tick = {}) {
  std::vector<ChunkSum> partial(pieces.size());
  const auto n = static_cast<std::int64_t>(pieces.size());
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) if (n > 1 && threads > 1)
  for (std::int64_t i = 0; i < n; ++i) {
    partial[std::size_t(i)] = kernel.sum(pieces[std::size_t(i)].task, pieces[std::size_t(i)].range);
    if (tick && omp_get_thread_num() == 0) tick();
  }
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    ChunkSum& target = out[pieces[i].slot];
    target.sum += partial[i].sum;
    target.missing += partial[i].missing;
  }
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

void Kernel::sum_chunks(std::span<const ChunkId> ids, std::span<ChunkSum> out, int threads,
                        const std::function<void()>& tick) const {
  threads = std::max(threads, 1);
  Index total = 0;
  for (ChunkId id : ids) total += config_.indices_of(id).size();
  const Index piece = piece_size(total, threads);
  std::vector<Piece> pieces;
  for (std::size_t slot = 0; slot < ids.size(); ++slot) cut(pieces, slot, config_.task_of(ids[slot]), config_.indices_of(ids[slot]), piece);
  std::fill(out.begin(), out.end(), ChunkSum{});
  sum_pieces(*this, pieces, out, threads, tick);
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
  const auto n = static_cast<std::int64_t>(tasks.size());
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) if (n > 1 && threads > 1)
  for (std::int64_t i = 0; i < n; ++i) {
    const auto& p = pending[std::size_t(i)];
    if (p.need > 0) out[std::size_t(i)] += numpy->tail(tasks[std::size_t(i)], p.next, p.need);
  }
}

}  // namespace tally::core
