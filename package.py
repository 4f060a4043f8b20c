# Copyright Spack Project Developers. See COPYRIGHT file for details.
#
# SPDX-License-Identifier: (Apache-2.0 OR MIT)

from spack_repo.builtin.build_systems.cmake import CMakePackage

from spack.package import *


class Tally(CMakePackage):
    """Exact, reproducible sums of huge streams of random integers across MPI ranks,
    OpenMP threads and SIMD lanes, with checkpoint-restart and HDF5 results: bit-identical
    for any layout, NumPy-exact on request, and restartable after time limits, preemption
    and crashed ranks."""

    homepage = "https://github.com/tally-hpc/tally"
    git = "https://github.com/tally-hpc/tally.git"

    maintainers("tally-hpc")

    license("MIT")

    # No release is tagged yet: build the main branch (add version("x.y", tag=..., commit=...)
    # lines with the commit hash when one is).
    version("main", branch="main")

    variant("openmp", default=True, description="OpenMP threads inside each MPI rank")
    variant(
        "native",
        default=False,
        description="Tune for the build machine (-march=native); off because Spack sets target flags "
        "and the AVX-512 kernels are dispatched at run time anyway",
    )
    variant("benchmarks", default=False, description="Build the Google Benchmark kernels")

    depends_on("c", type="build")  # FindHDF5 probes with a C compile
    depends_on("cxx", type="build")
    depends_on("cmake@3.20:", type="build")
    depends_on("pkgconfig", type="build")

    depends_on("mpi")
    # Only rank 0 writes files (results and checkpoints) through the serial HDF5 C API,
    # so serial HDF5 is enough and avoids coupling HDF5 to the MPI stack; 1.10.7 brings
    # H5Pset_file_locking (--file-locking).
    depends_on("hdf5@1.10.7:~mpi")
    depends_on("cli11@2:")
    depends_on("fmt@9:")
    depends_on("nlohmann-json@3:")  # the one JSON writer (src/io/json)
    depends_on("random123")
    depends_on("xxhash@0.8:")
    depends_on("benchmark", when="+benchmarks")

    depends_on("googletest@1.10:", type="test")
    depends_on("python@3.8:", type="test")
    depends_on("py-numpy", type="test")
    depends_on("py-h5py", type="test")
    depends_on("py-matplotlib", type="test")

    requires("%gcc@10:", "%clang@14:", policy="one_of", msg="tally needs C++20 (g++ >= 10 or clang++ >= 14)")

    def cmake_args(self):
        return [
            self.define_from_variant("TALLY_OPENMP", "openmp"),
            self.define_from_variant("TALLY_NATIVE", "native"),
            self.define_from_variant("TALLY_BENCHMARKS", "benchmarks"),
            self.define("TALLY_FUZZ", False),
            self.define("BUILD_TESTING", self.run_tests),
            self.define("TALLY_PYTHON", self.spec["python"].command.path if self.run_tests else "python3"),
        ]

    def mpi_launcher(self):
        return which("mpirun", "mpiexec", "srun", path=[self.spec["mpi"].prefix.bin], required=True)

    def test_version(self):
        """tally --version names the installed version"""
        tally = which(self.prefix.bin.tally, required=True)
        out = tally("--version", output=str.split, error=str.split)
        assert out.startswith("tally "), out

    def test_mpi_run(self):
        """a small job on two ranks under the spec's MPI launcher, then verified"""
        tally = self.prefix.bin.tally
        launcher = self.mpi_launcher()
        with working_dir(self.test_suite.current_test_cache_dir, create=True):
            launcher(
                "-n", "2", tally, "run", "--tasks", "4", "--samples", "100000", "--output", "smoke.h5", "--quiet"
            )
            out = Executable(tally)("verify", "smoke.h5", "--all", output=str.split, error=str.split)
            assert "all checks passed" in out, out
