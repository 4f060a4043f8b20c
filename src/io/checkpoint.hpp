#pragma once
// Checkpoints: two generations of a partial RunRecord, each written atomically with a
// digest over its payload, verified on load; a torn newest one falls back to the
// previous one, a foreign configuration is refused naming each differing field.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "io/file_locking.hpp"
#include "io/run_record.hpp"

namespace tally::io {

class CheckpointStore {
 public:
  CheckpointStore(std::filesystem::path path, FileLocking locking);

  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  /// The previous generation, kept beside the newest: "<path>.prev".
  [[nodiscard]] std::filesystem::path previous_path() const;
  /// True when either generation exists on disk.
  [[nodiscard]] bool exists() const;

  /// Writes a new generation: to a temp file first, fsynced; then the current file
  /// becomes the previous one and the new one is renamed into place, the directory
  /// fsynced (io::write_rotating: at every instant a complete newest or previous file exists).
  void save(const RunRecord& record) const;

  struct Loaded {
    RunRecord record;
    std::filesystem::path source;        ///< which generation was used
    std::vector<std::string> warnings;   ///< e.g. "newest checkpoint is corrupt (…); using the previous one"
  };
  /// Loads the newest valid generation. nullopt when neither exists. Throws an Error with
  /// ExitCode::kCheckpoint when both are unusable or the configuration differs (naming fields).
  [[nodiscard]] std::optional<Loaded> load(const core::Config& expected) const;

  /// Removes both generations (after a complete run has written its results).
  void remove() const;

 private:
  std::filesystem::path path_;
  FileLocking locking_;
  /// False after load() fell back to the previous generation: save() then replaces
  /// the unusable newest file instead of rotating it over the good previous one.
  mutable bool current_is_good_ = true;
};

}  // namespace tally::io
