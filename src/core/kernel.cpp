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
  if (missing == 0) return 0;
  return std::get<NumpyStream>(stream_).tail(t, Index(config_.samples), missing);
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
  Index total = 0;
  for (ChunkId id : ids) total += config_.indices_of(id).size();
  // About eight pieces per thread balances uneven chunks without fine-grain overhead.
  const Index piece = std::max(kMinPiece, std::min(kMaxPiece, total / (Index(std::max(threads, 1)) * 8) + 1));
  std::vector<Piece> pieces;
  for (std::size_t slot = 0; slot < ids.size(); ++slot) {
    const IndexRange r = config_.indices_of(ids[slot]);
    for (Index a = r.begin; a < r.end; a += std::min(piece, r.end - a))
      pieces.push_back({slot, config_.task_of(ids[slot]), {a, std::min(a + piece, r.end)}});
  }
  std::vector<ChunkSum> partial(pieces.size());
  const auto n = static_cast<std::int64_t>(pieces.size());
#pragma omp parallel for schedule(dynamic, 1) num_threads(std::max(threads, 1)) if (n > 1 && threads > 1)
  for (std::int64_t i = 0; i < n; ++i) {
    partial[std::size_t(i)] = sum(pieces[std::size_t(i)].task, pieces[std::size_t(i)].range);
    if (tick && omp_get_thread_num() == 0) tick();
  }

  std::fill(out.begin(), out.end(), ChunkSum{});
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    ChunkSum& target = out[pieces[i].slot];
    target.sum += partial[i].sum;
    target.missing += partial[i].missing;
  }
}

}  // namespace tally::core
