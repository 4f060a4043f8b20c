#pragma once
// Rank 0 holds the whole ledger (every chunk's sum) and serialises it for every
// checkpoint. A run whose ledger cannot fit in memory would compute for a while and then
// die from the kernel's OOM killer mid-write; refuse it up front instead (exit 2), with
// the figures, so the user can pick a larger --chunk or fewer tasks.
#include <cstdint>
#include <optional>

#include "core/config.hpp"

namespace tally::parallel {

/// Rank 0's peak memory for a run's ledger, checkpoints and results (measured on a
/// release build: about 72 bytes per chunk and 24 per task at the peak of a checkpoint
/// write, plus the histogram twice), with a margin. With a histogram, a batch also
/// counts into one copy of its rows per thread, plus its own rows and their message:
/// histogram_batch_bytes.
[[nodiscard]] std::uint64_t estimated_ledger_bytes(const core::Config& config, bool histogram, int threads = 1);
/// The histogram memory of the largest batch a rank with `threads` threads computes:
/// (threads + 2) × rows × span × 8 bytes, rows being the tasks such a batch touches.
[[nodiscard]] std::uint64_t histogram_batch_bytes(const core::Config& config, int threads);

/// Memory this process may still take: the least of /proc/meminfo's MemAvailable, the
/// cgroup (v2) limit minus its usage, and the address-space limit (RLIMIT_AS) minus
/// what is mapped now. nullopt when none of them can be read.
[[nodiscard]] std::optional<std::uint64_t> available_memory_bytes();

/// Throws a usage Error (exit 2) when the estimate exceeds what is available.
void check_memory_budget(const core::Config& config, bool histogram, int threads = 1);

}  // namespace tally::parallel
