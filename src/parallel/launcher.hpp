#pragma once
// Whether we were started by an MPI launcher (mpirun, srun), told by the environment
// before MPI_Init, so that a plain `tally run` never initialises MPI.
namespace tally::parallel {

/// True under Open MPI's mpirun (OMPI_COMM_WORLD_SIZE), srun --mpi=pmix (PMIX_RANK),
/// MPICH's Hydra mpiexec or srun --mpi=pmi2 (PMI_RANK, PMI_SIZE). A batch script's own
/// SLURM_JOB_ID alone does not count.
[[nodiscard]] bool under_mpi_launcher();
/// This process's rank as the launcher told it, 0 when not launched. Lets rank 0
/// alone print an error found before MPI_Init.
[[nodiscard]] int launcher_rank();
/// How many processes the launcher says it started (OMPI_COMM_WORLD_SIZE, PMI_SIZE,
/// srun's SLURM_STEP_NUM_TASKS), 0 when not launched or not told. When MPI then sees
/// fewer, the launcher speaks another MPI's protocol and each process is a singleton.
[[nodiscard]] int launcher_size();

}  // namespace tally::parallel
