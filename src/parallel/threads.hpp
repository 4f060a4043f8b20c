#pragma once
// How many OpenMP threads a rank should use when the user does not say.
namespace tally::parallel {

/// OMP_NUM_THREADS if set, else SLURM_CPUS_PER_TASK if set, else the CPUs this
/// process may run on (its affinity mask, which mpirun/srun binding narrows).
[[nodiscard]] int default_threads();

}  // namespace tally::parallel
