#pragma once
// tally::Error: the one exception type; it carries the process exit code so
// that main() can turn any failure into one stderr line and the right status.
#include <stdexcept>
#include <string>

namespace tally {

/// Exit codes shared by every subcommand and documented in docs/cli.md.
enum class ExitCode : int {
  kOk = 0,
  kFailure = 1,     ///< anything unexpected
  kUsage = 2,       ///< bad command line or configuration
  kCheckpoint = 3,  ///< checkpoint unusable (wrong configuration or corrupt)
  kStopped = 85,    ///< stopped cleanly at a checkpoint; run again to resume
};

class Error : public std::runtime_error {
 public:
  Error(ExitCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  [[nodiscard]] ExitCode code() const noexcept { return code_; }

 private:
  ExitCode code_;
};

/// Shorthand for the most common error: bad input, exit 2.
inline Error usage_error(const std::string& message) { return {ExitCode::kUsage, message}; }

}  // namespace tally
