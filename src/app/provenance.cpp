#include "app/provenance.hpp"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "app/build_info.hpp"
#include "core/cpu.hpp"
#include "core/version.hpp"
#include "io/hdf5.hpp"

namespace tally::app {

namespace {
std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : "";
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0 && line.find(':') != std::string::npos) {
      auto value = line.substr(line.find(':') + 1);
      return value.substr(value.find_first_not_of(' '));
    }
  return "unknown";
}

/// A word as a POSIX shell would need it, so the recorded line can be pasted back.
std::string shell_word(const std::string& word) {
  if (!word.empty() && word.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                              "-_./:=,+@%") == std::string::npos)
    return word;
  std::string out = "'";
  for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}
}  // namespace

std::map<std::string, std::string> collect_provenance(const std::string& mpi_library) {
  return {
      {"tally_version", kVersion},
      {"git_commit", build::kGitCommit},
      {"git_dirty", build::kGitDirty},
      {"build_type", build::kBuildType},
      {"compiler", build::kCompiler},
      {"compiler_flags", build::kCompilerFlags},
      {"kernel_path", std::string(core::kernel_path_name())},
      {"cpu_model", cpu_model()},
      {"mpi_library", mpi_library},
      {"hdf5_version", io::h5::library_version()},
  };
}

io::StartRecord start_template(int argc, char** argv) {
  io::StartRecord s;
  for (int i = 0; i < argc; ++i) {  // appended piecewise: g++ 12 misreads " " + string (-Wrestrict)
    if (i > 0) s.command_line += ' ';
    s.command_line += shell_word(argv[i]);
  }
  const passwd* pw = ::getpwuid(::geteuid());
  s.user = pw != nullptr && pw->pw_name != nullptr ? pw->pw_name : env("USER");
  s.slurm_job_id = env("SLURM_JOB_ID");
  s.slurm_array_job_id = env("SLURM_ARRAY_JOB_ID");
  s.slurm_array_task_id = env("SLURM_ARRAY_TASK_ID");
  s.slurm_step_id = env("SLURM_STEP_ID");
  s.kernel_path = core::kernel_path_name();  // rank 0's: the path this start's coordinator ran
  return s;
}

}  // namespace tally::app
