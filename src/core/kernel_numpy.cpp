#include "core/kernel_numpy.hpp"

namespace tally::core {

ChunkSum sum_numpy_portable(const NumpyStream& s, TaskId t, Index a, Index b) {
  return s.sum_scalar(t, a, b);
}

ChunkSum sum_numpy(const NumpyStream& s, TaskId t, Index a, Index b) { return sum_numpy_portable(s, t, a, b); }

}  // namespace tally::core
