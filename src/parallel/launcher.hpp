#pragma once
// Whether we were started by an MPI launcher (mpirun, srun), told by the environment
// before MPI_Init, so that a plain `tally run` never initialises MPI.
namespace tally::parallel {

/// True under mpirun (OMPI_COMM_WORLD_SIZE) or srun/PMIx/PMI (PMIX_RANK, PMI_RANK,
/// PMI_SIZE). A batch script's own SLURM_JOB_ID alone does not count.
[[nodiscard]] bool under_mpi_launcher();
/// This process's rank as the launcher told it, 0 when not launched. Lets rank 0
/// alone print an error found before MPI_Init.
[[nodiscard]] int launcher_rank();

}  // namespace tally::parallel
