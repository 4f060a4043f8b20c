#pragma once
// Provenance: what produced a results file — the build (version, git commit, compiler,
// flags), the machine (kernel path, CPU, MPI and HDF5 libraries) and, per start, the
// command line, user and Slurm ids (docs/file-format.md).
#include <map>
#include <string>

#include "io/run_record.hpp"

namespace tally::app {

/// Build and library facts; `mpi_library` is "none (threads only)" without MPI.
[[nodiscard]] std::map<std::string, std::string> collect_provenance(const std::string& mpi_library);

/// This start's row of the history with what the app knows: command line, user, Slurm ids.
[[nodiscard]] io::StartRecord start_template(int argc, char** argv);

}  // namespace tally::app
