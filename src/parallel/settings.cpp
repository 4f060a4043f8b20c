#include "parallel/settings.hpp"

namespace tally::parallel {

std::filesystem::path RunSettings::checkpoint_path() const {
  if (!checkpoint.empty()) return checkpoint;
  auto path = output;
  path += ".ckpt";
  return path;
}

}  // namespace tally::parallel
