#include "parallel/batch.hpp"

#include <chrono>

namespace tally::parallel {

std::optional<BatchResult> compute_batch(const core::Kernel& kernel, const Batch& batch, int threads, bool histogram,
                                         const core::Kernel::BetweenPieces& between) {
  const auto& config = kernel.config();
  BatchResult out;
  out.batch = batch;
  out.sums.resize(batch.count);
  std::vector<core::ChunkId> ids(batch.count);
  for (std::uint64_t i = 0; i < batch.count; ++i) {
    ids[i] = batch.first + i;
    out.draws += config.indices_of(ids[i]).size();
  }
  const auto t0 = std::chrono::steady_clock::now();
  if (!kernel.sum_chunks(ids, out.sums, threads, between)) return std::nullopt;
  if (histogram && batch.count > 0) {
    const auto span = std::uint64_t(config.range.span());
    out.first_task = config.task_of(batch.first);
    const auto rows = config.task_of(batch.first + batch.count - 1) - out.first_task + 1;
    out.histogram.assign(rows * span, 0);
    if (!kernel.count_chunks(ids, out.first_task, out.histogram, threads, between)) return std::nullopt;
  }
  out.busy_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

void add_histogram(const BatchResult& result, std::uint64_t span, std::vector<std::int64_t>& run_histogram) {
  const std::size_t offset = result.first_task * span;
  for (std::size_t i = 0; i < result.histogram.size(); ++i) run_histogram[offset + i] += result.histogram[i];
}

}  // namespace tally::parallel
