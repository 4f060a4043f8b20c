#include "io/file_locking.hpp"

#include "core/error.hpp"

namespace tally::io {

FileLocking parse_file_locking(const std::string& text) {
  if (text == "on") return FileLocking::kOn;
  if (text == "off") return FileLocking::kOff;
  if (text == "best-effort") return FileLocking::kBestEffort;
  throw usage_error("--file-locking must be on, off or best-effort, not '" + text + "'");
}

std::string to_string(FileLocking locking) {
  switch (locking) {
    case FileLocking::kOn: return "on";
    case FileLocking::kOff: return "off";
    case FileLocking::kBestEffort: return "best-effort";
  }
  return "on";
}

}  // namespace tally::io
