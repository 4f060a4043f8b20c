#include "parallel/launcher.hpp"

#include <cstdlib>
#include <initializer_list>

namespace tally::parallel {

namespace {
const char* first_env(std::initializer_list<const char*> names) {
  for (const char* name : names)
    if (const char* value = std::getenv(name)) return value;
  return nullptr;
}
}  // namespace

bool under_mpi_launcher() {
  return first_env({"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"}) != nullptr;
}

int launcher_rank() {
  const char* rank = first_env({"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID"});
  return under_mpi_launcher() && rank != nullptr ? std::atoi(rank) : 0;
}

int launcher_size() {
  // srun's step size only counts under srun itself: a batch script has none.
  const char* size = first_env({"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_STEP_NUM_TASKS"});
  return under_mpi_launcher() && size != nullptr ? std::atoi(size) : 0;
}

}  // namespace tally::parallel
