// `tally inspect FILE`: a readable summary of a results file or checkpoint, or --json.
// A checkpoint that fails its seal or digest is refused (exit 3), never shown as good.
#include "app/commands.hpp"
#include "app/options.hpp"
#include "app/report.hpp"
#include "io/results_file.hpp"

namespace tally::app {

void add_inspect_command(CLI::App& app, Action& action) {
  struct Args {
    std::string file;
    bool json = false;
    io::FileLocking file_locking = io::FileLocking::kBestEffort;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("inspect", "Summarise a results file or checkpoint.");
  cmd->add_option("file", args->file, "Results file or checkpoint (HDF5)")->required();
  cmd->add_flag("--json", args->json, "Print one JSON object on stdout");
  add_choice(cmd, "--file-locking", args->file_locking, kFileLocking, "HDF5 file locking: on, off or best-effort");
  cmd->final_callback([&action, args] {
    action = [args] {
      const auto record = io::read_results(args->file, args->file_locking);
      // The exit code of the start that wrote the file (85: stopped, -1: a periodic
      // checkpoint of a run still going); format-1 files have no history.
      const int exit_code = !record.starts.empty() ? int(record.starts.back().exit_code)
                            : record.status == "complete" ? 0
                                                          : -1;
      if (args->json) print_run_json(record, args->file, exit_code);
      else print_run_summary(record, args->file, exit_code);
      return 0;
    };
  });
}

}  // namespace tally::app
