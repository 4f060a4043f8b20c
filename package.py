# Copyright Spack Project Developers. See COPYRIGHT file for details.
#
# SPDX-License-Identifier: (Apache-2.0 OR MIT)

import os

from spack_repo.builtin.build_systems.cmake import CMakePackage

from spack.package import *

# Highway's targets and the target features their code needs, best first; AES and PCLMUL,
# which Highway also checks, are left out: tally's kernels use neither.
HIGHWAY_TARGET_FEATURES = {
    "x86_64": [
        ("HWY_AVX3_DL", ("avx512_vnni", "avx512_vbmi2", "avx512vbmi", "avx512_bitalg", "avx512_vpopcntdq",
                         "vaes", "vpclmulqdq", "avx512f", "avx512bw", "avx512dq", "avx512vl")),
        ("HWY_AVX3", ("avx512f", "avx512bw", "avx512dq", "avx512vl")),
        ("HWY_AVX2", ("avx2", "bmi2", "fma", "f16c")),
        ("HWY_SSE4", ("sse4_1", "sse4_2")),
        ("HWY_SSSE3", ("ssse3",)),
    ],
    # NEON (asimd) is the aarch64 baseline.
    "aarch64": [
        ("HWY_SVE2", ("sve2",)),
        ("HWY_SVE2_128", ("sve2",)),
        ("HWY_SVE", ("sve",)),
        ("HWY_SVE_256", ("sve",)),
    ],
}


def highway_targets_above(target):
    """The Highway targets whose instructions the spec's target (an archspec
    microarchitecture) lacks: left out of the build, as Spack's openblas leaves out its
    AVX-512 kernels below x86_64_v4. A family's own generic target (x86_64, aarch64) keeps
    them all, chosen at run time, as openblas's DYNAMIC_ARCH does for generic targets."""
    family = target.family.name
    if target.name == family:
        return []
    return [name for name, needs in HIGHWAY_TARGET_FEATURES.get(family, []) if not all(f in target for f in needs)]


class Tally(CMakePackage):
    """Exact, reproducible sums of huge streams of random integers across MPI ranks,
    OpenMP threads and SIMD lanes, with checkpoint-restart and HDF5 results: bit-identical
    for any layout, NumPy-exact on request, and restartable after time limits, preemption
    and crashed ranks."""

    homepage = "https://github.com/tally-hpc/tally"
    # Release tarballs: Spack derives every release's address from this one.
    url = "https://github.com/tally-hpc/tally/archive/refs/tags/v0.1.0.tar.gz"
    # The development branch. A site builds from its own clone instead, without editing
    # this file, through packages.yaml (docs/install.md):
    #   packages: {tally: {package_attributes: {git: file:///path/to/tally}}}
    git = "https://github.com/tally-hpc/tally.git"

    maintainers("tally-hpc")

    license("MIT")

    version("main", branch="main")
    # No release is tagged yet. Each release adds one line with its tarball's checksum
    # (`spack checksum tally 0.1.0` prints it):
    #   version("0.1.0", sha256="<sha256 of tally-0.1.0.tar.gz>")

    # One variant per TALLY_* CMake option that a package build may choose (docs/install.md).
    # TALLY_FUZZ (libFuzzer, clang) and TALLY_SANITIZE are developer builds, not packages.
    variant("openmp", default=True, description="OpenMP threads inside each MPI rank (TALLY_OPENMP)")
    variant(
        "native",
        default=False,
        description="Tune for the build machine, -march=native (TALLY_NATIVE); off because Spack "
        "sets target flags and the AVX-512 kernels are dispatched at run time anyway",
    )
    variant("benchmarks", default=False, description="Build the Google Benchmark kernels (TALLY_BENCHMARKS)")
    variant(
        "python",
        default=True,
        description="The tally Python package, tally-analyze and tally-reference, so that "
        "`spack load tally` makes `import tally` work (TALLY_PYTHON_PACKAGE)",
    )

    depends_on("c", type="build")  # FindHDF5 probes with a C compile
    depends_on("cxx", type="build")
    depends_on("cmake@3.20:", type="build")
    depends_on("pkgconfig", type="build")

    depends_on("mpi")
    # Only rank 0 writes files (results and checkpoints), through the serial HDF5 C API,
    # which a parallel HDF5 provides too: either build works, so a site reuses the one it
    # has. 1.10.7 brings H5Pset_file_locking (--file-locking).
    depends_on("hdf5@1.10.7:")
    depends_on("cli11@2:")
    depends_on("fmt@9:")
    depends_on("nlohmann-json@3:")  # the one JSON writer (src/io/json)
    depends_on("random123")
    depends_on("xxhash@0.8:")
    # The SIMD kernels: one source, compiled for every Highway target up to the spec's
    # target= and chosen at run time (highway_targets_above, flag_handler, cmake_args).
    depends_on("highway@1.0.3:")
    depends_on("benchmark", when="+benchmarks")

    # The Python package reads results files with NumPy and h5py; matplotlib draws the
    # figures of tally-analyze and xxhash checks checkpoint seals (the package runs
    # without either, saying what it cannot do, but a `spack load` user expects both).
    with when("+python"):
        depends_on("python@3.8:", type=("build", "run"))
        depends_on("py-numpy", type="run")
        depends_on("py-h5py", type="run")
        depends_on("py-matplotlib", type="run")
        depends_on("py-xxhash", type="run")

    depends_on("googletest@1.10:", type="test")
    depends_on("hdf5+tools", type="test")  # h5dump reads the results files back
    depends_on("python@3.8:", type="test")
    depends_on("py-numpy", type="test")
    depends_on("py-h5py", type="test")
    depends_on("py-matplotlib", type="test")
    depends_on("py-pytest", type="test")
    depends_on("py-xxhash", type="test")

    requires("%gcc@10:", "%clang@14:", policy="one_of", msg="tally needs C++20 (g++ >= 10 or clang++ >= 14)")

    # `spack install --test=root` checks the build: unit, cli, python, mpi and install
    # tests. The scenario suites stay in the project's own CI: they start services on the
    # host (a Slurm cluster, emulated nodes in network namespaces, root only), kill and
    # signal processes on timing (fault, hostile) and want a quiet machine, which a
    # parallel Spack build is not; `spack` would install tally through Spack again.
    skipped_test_labels = ("multinode", "slurm", "fault", "hostile", "spack")

    def flag_handler(self, name, flags):
        # Highway 1.0.3 fails to compile when only one target is left (HWY_EXPORT names a
        # namespace it did not make), and under a -march whose best target is AVX3_DL unless
        # that target is wanted: every -march Spack passes must build, so all attainable
        # targets are compiled, AVX3_DL included, then capped (TALLY_HWY_DISABLED_TARGETS).
        # Through the compiler wrapper: Highway's headers read them in every source.
        if name == "cxxflags":
            flags = flags + ["-DHWY_COMPILE_ALL_ATTAINABLE", "-DHWY_WANT_AVX3_DL"]
        return (flags, None, None)

    def cmake_args(self):
        args = [
            self.define_from_variant("TALLY_OPENMP", "openmp"),
            self.define_from_variant("TALLY_NATIVE", "native"),
            self.define_from_variant("TALLY_BENCHMARKS", "benchmarks"),
            self.define_from_variant("TALLY_PYTHON_PACKAGE", "python"),
            self.define("BUILD_TESTING", self.run_tests),
            # Highway targets above the spec's target= are not compiled.
            self.define("TALLY_HWY_DISABLED_TARGETS", "|".join(highway_targets_above(self.spec.target))),
        ]
        if self.run_tests:  # read by the test folders only
            args.append(self.define("TALLY_PYTHON", self.spec["python"].command.path))
        return args

    def setup_run_environment(self, env):
        # The package is installed beside the analysis scripts (cmake/Install.cmake).
        if self.spec.satisfies("+python"):
            env.prepend_path("PYTHONPATH", join_path(self.prefix.share, "tally", "python"))

    def mpi_launcher(self):
        """The spec's own launcher and the arguments that let it start two ranks anywhere:
        as root, and on a one-core machine (Open MPI refuses both by default)."""
        bin_dir = self.spec["mpi"].prefix.bin
        if self.spec.satisfies("^[virtuals=mpi] openmpi"):
            return which("mpirun", path=[bin_dir], required=True), ["--oversubscribe"]
        return which("mpiexec", "mpirun", "srun", path=[bin_dir], required=True), []

    @staticmethod
    def run_as_root_env():
        # Spack removes every *_ROOT variable from the environment of builds and package
        # tests, so a user's OMPI_ALLOW_RUN_AS_ROOT never arrives: set it here. Other MPIs
        # ignore it.
        return {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}

    def check(self):
        """The test suite of `spack install --test=root`, less the host-service scenarios."""
        with working_dir(self.build_directory):
            ctest = which("ctest", path=[self.spec["cmake"].prefix.bin], required=True)
            ctest(
                "--output-on-failure",
                "-j",
                str(make_jobs),
                "-LE",
                "|".join(self.skipped_test_labels),
                extra_env=self.run_as_root_env(),
            )

    def test_version(self):
        """tally --version names the installed version"""
        tally = which(self.prefix.bin.tally, required=True)
        out = tally("--version", output=str.split, error=str.split)
        assert out.startswith("tally "), out

    def test_mpi_run(self):
        """a small job on two ranks under the spec's MPI launcher, then verified"""
        tally = self.prefix.bin.tally
        launcher, launcher_args = self.mpi_launcher()
        with working_dir(self.test_suite.current_test_cache_dir, create=True):
            if os.path.exists("smoke.h5"):
                os.remove("smoke.h5")
            launcher(
                *launcher_args,
                "-n",
                "2",
                tally,
                "run",
                "--tasks",
                "4",
                "--samples",
                "100000",
                "--output",
                "smoke.h5",
                "--quiet",
                extra_env=self.run_as_root_env(),
            )
            out = Executable(tally)("verify", "smoke.h5", "--all", output=str.split, error=str.split)
            assert "all checks passed" in out, out
