#include "parallel/settings.hpp"

#include "core/error.hpp"

namespace tally::parallel {

ResumePolicy parse_resume_policy(const std::string& text) {
  if (text == "auto") return ResumePolicy::kAuto;
  if (text == "require") return ResumePolicy::kRequire;
  if (text == "never") return ResumePolicy::kNever;
  throw usage_error("--resume must be auto, require or never, not '" + text + "'");
}

std::filesystem::path RunSettings::checkpoint_path() const {
  if (!checkpoint.empty()) return checkpoint;
  auto path = output;
  path += ".ckpt";
  return path;
}

}  // namespace tally::parallel
