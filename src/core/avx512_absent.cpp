// Builds for CPUs other than x86-64 (the aarch64 cross build) cannot compile the AVX-512
// kernels (*_avx512.cpp); these stand in for them so the callers and the tests link.
// cpu_has_avx512() is false there, so nothing calls them: reaching one is a bug.
#include <stdexcept>

#include "core/histogram.hpp"
#include "core/kernel_fast.hpp"
#include "core/kernel_numpy.hpp"

namespace tally::core {

namespace {
[[noreturn]] void absent() { throw std::logic_error("AVX-512 kernel called on a CPU that is not x86-64"); }
}  // namespace

ChunkSum sum_fast_avx512(const FastStream&, TaskId, Index, Index, RejectPath) { absent(); }
ChunkSum sum_numpy_avx512(const NumpyStream&, TaskId, Index, Index, RejectPath) { absent(); }
void add_counts_avx512(const FastStream&, TaskId, IndexRange, std::span<std::int64_t>) { absent(); }
void add_counts_avx512(const NumpyStream&, TaskId, IndexRange, std::span<std::int64_t>) { absent(); }

}  // namespace tally::core
