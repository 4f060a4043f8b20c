#pragma once
// How many OpenMP threads a rank should use when the user does not say.
namespace tally::parallel {

/// The most threads a rank accepts, from --threads or the environment alike: far above
/// any node's core count, and far below the counts at which libgomp fails to create
/// threads (32768 and up) or crashes (65535).
inline constexpr int kMaxThreads = 4096;

/// OMP_NUM_THREADS if set, else SLURM_CPUS_PER_TASK if set, else the CPUs this
/// process may run on (its affinity mask, which mpirun/srun binding narrows).
/// A variable that asks for more than kMaxThreads is a usage Error (exit 2) naming it;
/// one that is not a positive number is ignored, as OpenMP itself ignores it.
[[nodiscard]] int default_threads();

}  // namespace tally::parallel
