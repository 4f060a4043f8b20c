#pragma once
// Kernel tests run their checks on every path this CPU runs and this build carries.
#include <gtest/gtest.h>

#include "core/cpu.hpp"

namespace tally::core {

/// Runs body(path) on every kernel path this CPU runs, each forced in turn, then puts
/// back the path the process had.
template <class Body>
void on_every_path(Body&& body) {
  const KernelPath before = kernel_path();
  for (KernelPath p : kernel_paths_available()) {
    set_kernel_path(p);
    ASSERT_EQ(kernel_path(), p);
    body(p);
  }
  set_kernel_path(before);
}

}  // namespace tally::core
