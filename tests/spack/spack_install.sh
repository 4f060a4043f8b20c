#!/usr/bin/env bash
# `spack install tally` for real, offline, the way a site does it: every dependency is a
# Debian package registered as a Spack external (`all: buildable: false`, so a missing
# external fails loudly instead of building dozens of packages), tally comes from a clone
# of the working tree named in packages.yaml (`package_attributes: git:`), and Spack's
# concretizer (clingo) is built from source once and cached in the build tree.
# Steps: concretize `tally ^hdf5+mpi` (a parallel HDF5 is accepted), `spack install
# --test=root tally` (tally's test suite inside the build), `spack load tally`,
# `tally --version`, `spack test run tally` (as root, without --dirty), a two-rank run of
# the installed binary checked against the installed NumPy reference, and `import tally`
# after `spack load tally` reading that run's file.
#
# Usage: spack_install.sh SOURCE_DIR WORK_DIR        (ctest: `ctest -L spack`)
# The Spack kit (offline Spack, builtin packages, clingo and compiler-wrapper sources) is
# $TALLY_SPACK_KIT, else SOURCE_DIR/../shared/spack-kit; without it the test exits 77
# (ctest: skipped). TALLY_SPACK_KEEP=1 keeps the install tree and stages for a look.
set -euo pipefail
src=$(cd "$1" && pwd)
work=$2
kit=${TALLY_SPACK_KIT:-$src/../shared/spack-kit}
skip() { echo "SKIP: $*"; exit 77; }

[ -d "$kit" ] || skip "no Spack kit at $kit (set TALLY_SPACK_KIT to a folder with spack-core-*.tar.gz," \
  "spack-packages-*.tar.gz, clingo-*.tar.gz and compiler-wrapper-*.tar.gz)"
kit=$(cd "$kit" && pwd)
one() { # the single kit file matching a pattern
  local f=("$kit"/$1)
  [ ${#f[@]} -eq 1 ] && [ -f "${f[0]}" ] || { echo "spack kit $kit: expected one $1, found: ${f[*]}" >&2; exit 1; }
  echo "${f[0]}"
}
spack_tgz=$(one 'spack-core-*.tar.gz')
packages_tgz=$(one 'spack-packages-*.tar.gz')
clingo_tgz=$(one 'clingo-*.tar.gz')
wrapper_tgz=$(one 'compiler-wrapper-*.tar.gz')
command -v dpkg-query >/dev/null || skip "the externals are Debian packages (dpkg-query not found)"
for p in re2c bison python3-dev libhwy-dev; do # clingo's build needs the first three; scripts/setup installs them
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || { echo "Debian package $p is missing: run scripts/setup" >&2; exit 1; }
done

jobs=${TALLY_SPACK_JOBS:-$(nproc)}
mkdir -p "$work"
work=$(cd "$work" && pwd)
logs=$work/logs
rm -rf "$logs"
mkdir -p "$logs"
timings=()
step() { # step NAME CMD…: runs CMD (in a subshell) with its output in logs/NAME.log; on failure shows its tail
  local name=$1 start=$SECONDS rc=0
  shift
  echo "== $name"
  # In the background, so that set -e holds inside shell functions (it is off in `a || b`).
  "$@" >"$logs/$name.log" 2>&1 </dev/null &
  wait $! || rc=$?
  timings+=("$(printf '%-28s %4d s' "$name" $((SECONDS - start)))")
  if [ $rc -ne 0 ]; then
    echo "FAILED ($rc): $*"
    tail -n 60 "$logs/$name.log"
    exit 1
  fi
}
report() { echo "== timings (whole test $((SECONDS)) s)"; printf '%s\n' "${timings[@]}"; }
trap report EXIT

# Per run: a fresh install tree, stages, caches and a fresh clone. Kept between runs:
# the unpacked Spack and package repository, and the clingo module (keyed by tarball name).
run=$work/run
rm -rf "$run"
mkdir -p "$run"
[ "${TALLY_SPACK_KEEP:-0}" = 1 ] || trap 'rm -rf "$run"; report' EXIT

unpack() { # unpack TARBALL DIR: once per tarball
  local tgz=$1 dir=$2
  if [ "$(cat "$work/$dir.from" 2>/dev/null)" != "$(basename "$tgz")" ]; then
    rm -rf "${work:?}/$dir" "$work/$dir.from"
    tar -xzf "$tgz" -C "$work"
    basename "$tgz" >"$work/$dir.from"
  fi
}
step unpack_spack unpack "$spack_tgz" spack
step unpack_packages unpack "$packages_tgz" spack-packages
builtin=$work/spack-packages/repos/spack_repo/builtin
test -f "$builtin/repo.yaml"

# clingo's Python module for Debian's /usr/bin/python3: static libclingo inside one
# position-independent module (without PIC it fails to link).
clingo=$work/clingo-$(basename "$clingo_tgz" .tar.gz)
pyclingo=$clingo/lib/python3/site-packages
build_clingo() {
  rm -rf "$clingo" "$work/clingo-src" "$work/clingo-build"
  mkdir -p "$work/clingo-src"
  tar -xzf "$clingo_tgz" -C "$work/clingo-src" --strip-components=1
  cmake -S "$work/clingo-src" -B "$work/clingo-build" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_INSTALL_PREFIX="$clingo" -DCLINGO_BUILD_WITH_PYTHON=ON -DPython_EXECUTABLE=/usr/bin/python3 \
    -DCLINGO_BUILD_WITH_LUA=OFF -DCLINGO_BUILD_APPS=OFF -DCLINGO_BUILD_TESTS=OFF -DCLINGO_BUILD_EXAMPLES=OFF \
    -DCLINGO_BUILD_SHARED=OFF -DCMAKE_POSITION_INDEPENDENT_CODE=ON -DPYCLINGO_INSTALL_DIR="$pyclingo"
  cmake --build "$work/clingo-build" -j "$jobs"
  cmake --install "$work/clingo-build"
  rm -rf "$work/clingo-src" "$work/clingo-build"
}
if ! PYTHONPATH=$pyclingo /usr/bin/python3 -c 'import clingo' 2>/dev/null; then
  step build_clingo build_clingo
fi

# tally as a site has it: a git clone. Here a one-commit snapshot of the working tree
# (tracked and untracked files that git does not ignore), so uncommitted edits are tested.
git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1 \
  || { echo "$src is not a git work tree: the test installs from a snapshot of it" >&2; exit 1; }
snapshot() {
  mkdir -p "$run/tally.git"
  (cd "$src" && git ls-files -z -c -o --exclude-standard --deduplicate \
    | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
    | tar --null -T - -cf -) | tar -xf - -C "$run/tally.git"
  cd "$run/tally.git"
  git init -q -b main
  git add -A
  git -c user.name=tally-ci -c user.email=ci@tally.invalid commit -q -m "working tree of $src"
}
step snapshot snapshot

# Spack's one download for every compiled package, served from a local mirror.
wrapper_sha=$(sha256sum "$wrapper_tgz" | cut -d' ' -f1)
mkdir -p "$run/mirror/_source-cache/archive/${wrapper_sha:0:2}"
cp "$wrapper_tgz" "$run/mirror/_source-cache/archive/${wrapper_sha:0:2}/$wrapper_sha.tar.gz"

# Debian's versions, as Debian has them now (epoch and Debian revision dropped).
deb() { dpkg-query -W -f='${Version}' "$1" | sed -E 's/^[0-9]+://; s/[-+~].*$//'; }
gcc_v=$(gcc -dumpfullversion)
python_v=$(/usr/bin/python3 -c 'import platform; print(platform.python_version())')

# Configuration in the Spack instance's own (site) scope: SPACK_DISABLE_LOCAL_CONFIG
# shuts out ~/.spack and /etc/spack, so nothing of the machine's leaks in.
etc=$work/spack/etc/spack
rm -f "$etc"/*.yaml
cat >"$etc/config.yaml" <<YAML
config:
  build_jobs: $jobs
  install_tree:
    root: $run/opt
  build_stage: [$run/stage]
  test_stage: $run/test-stage
  source_cache: $run/source-cache
  misc_cache: $run/misc-cache
YAML
cat >"$etc/repos.yaml" <<YAML
repos::                    # '::' replaces the default builtin, a git clone from github.com
  tally: $run/repo/spack_repo/tally
  builtin: $builtin
YAML
cat >"$etc/mirrors.yaml" <<YAML
mirrors::                  # '::' drops the default https://mirror.spack.io
  offline:
    url: file://$run/mirror
    binary: false
YAML
cat >"$etc/bootstrap.yaml" <<YAML
bootstrap:
  enable: false            # never download clingo, patchelf or gnupg: fail at once instead
YAML
cat >"$etc/packages.yaml" <<YAML
packages:
  # Nothing is built but tally and Spack's runtime nodes: compiler-wrapper (a shell script,
  # from the mirror) and gcc-runtime (copies the external gcc's libraries).
  all:
    buildable: false
  tally:
    buildable: true
    package_attributes:
      git: file://$run/tally.git
  compiler-wrapper:
    buildable: true
  gcc-runtime:
    buildable: true
  gcc:
    externals:
    - spec: gcc@$gcc_v languages:='c,c++,fortran'
      prefix: /usr
      extra_attributes:
        compilers:
          c: /usr/bin/gcc
          cxx: /usr/bin/g++
          fortran: /usr/bin/gfortran
  cmake:
    externals:
    - spec: cmake@$(deb cmake)
      prefix: /usr
  gmake:
    externals:
    - spec: gmake@$(deb make)
      prefix: /usr
  pkgconf:
    externals:
    - spec: pkgconf@$(deb pkgconf)
      prefix: /usr
  mpi:
    require: openmpi
  openmpi:
    externals:
    - spec: openmpi@$(deb libopenmpi-dev)~cuda+cxx~cxx_exceptions+java~memchecker+pmi~rocm~static~wrapper-rpath fabrics=ofi,psm,psm2,ucx schedulers=slurm
      prefix: /usr
  hdf5:
    externals:
    - spec: hdf5@$(deb libhdf5-dev)+cxx+fortran+hl+java~mpi+szip+threadsafe+tools api=v18
      prefix: /usr
  cli11:
    externals:
    - spec: cli11@$(deb libcli11-dev)
      prefix: /usr
  fmt:
    externals:
    - spec: fmt@$(deb libfmt-dev)+shared
      prefix: /usr
  nlohmann-json:
    externals:
    - spec: nlohmann-json@$(deb nlohmann-json3-dev)
      prefix: /usr
  random123:
    externals:
    - spec: random123@$(deb librandom123-dev)
      prefix: /usr
  xxhash:
    externals:
    - spec: xxhash@$(deb libxxhash-dev)
      prefix: /usr
  highway:
    externals:
    - spec: highway@$(deb libhwy-dev)+shared~examples
      prefix: /usr
  # test-only dependencies (spack install --test=root)
  googletest:
    externals:
    - spec: googletest@$(deb libgtest-dev)+gmock
      prefix: /usr
  python:
    externals:
    - spec: python@$python_v+bz2+crypt+ctypes+dbm+lzma+pyexpat~pythoncmd+readline+sqlite3+ssl+tix+tkinter+uuid+zlib
      prefix: /usr
YAML
for p in numpy h5py matplotlib pytest xxhash; do
  spec=py-$p@$(deb "python3-$p")
  [ "$p" = h5py ] && spec="$spec~mpi"
  cat >>"$etc/packages.yaml" <<YAML
  py-$p:
    externals:
    - spec: $spec
      prefix: /usr
      dependencies:
      - spec: python@$python_v
        deptypes: [build, link, run]
YAML
done
# Only for the concretization of `tally ^hdf5+mpi`: Debian's HDF5 is serial, so there a
# parallel HDF5 (and what it needs that Debian's externals lack) may be planned as a build.
mkdir -p "$run/any-hdf5"
cat >"$run/any-hdf5/packages.yaml" <<YAML
packages:
  all:
    buildable: true
YAML

# A package repository holding package.py as it is in the working tree.
mkdir -p "$run/repo/spack_repo/tally/packages/tally"
printf 'repo:\n  namespace: tally\n  api: v2.2\n' >"$run/repo/spack_repo/tally/repo.yaml"
cp "$src/package.py" "$run/repo/spack_repo/tally/packages/tally/package.py"

export SPACK_DISABLE_LOCAL_CONFIG=1
export SPACK_USER_CONFIG_PATH=$run/user-config SPACK_USER_CACHE_PATH=$run/user-cache
export SPACK_PYTHON=/usr/bin/python3 # the interpreter clingo was built for
export PYTHONPATH=$pyclingo${PYTHONPATH:+:$PYTHONPATH}
unset OMPI_ALLOW_RUN_AS_ROOT OMPI_ALLOW_RUN_AS_ROOT_CONFIRM # package.py must cope without them
set +u                                                      # setup-env.sh is not set -u clean
# shellcheck disable=SC1091
. "$work/spack/share/spack/setup-env.sh"
set -u

step spack_python spack python -c 'import clingo; print("clingo", clingo.__version__)'
# A parallel HDF5 is accepted, with the one MPI of the DAG.
step concretize_hdf5_mpi spack -C "$run/any-hdf5" spec tally ^hdf5+mpi
grep -Eq '\^hdf5@[^ ]*\+mpi' "$logs/concretize_hdf5_mpi.log" \
  || { echo "tally ^hdf5+mpi did not concretize to a parallel HDF5:"; cat "$logs/concretize_hdf5_mpi.log"; exit 1; }
# package.py caps Highway's targets by the spec's target=: the targets left out for a few
# microarchitectures (x86 and Arm), from the same archspec data the concretizer uses.
highway_caps() {
  # A file: `spack python -c` takes a single statement only.
  cat >"$run/highway_caps.py" <<'PY'
import inspect
import spack.repo
from spack.vendor.archspec.cpu import TARGETS
above = inspect.getmodule(spack.repo.PATH.get_pkg_class("tally")).highway_targets_above
for name in ("x86_64", "x86_64_v2", "x86_64_v3", "zen3", "skylake_avx512", "icelake", "sapphirerapids",
             "aarch64", "neoverse_n1", "a64fx", "neoverse_v2"):
    print(name + ":", " ".join(above(TARGETS[name])) or "-")
PY
  spack python "$run/highway_caps.py"
}
step highway_caps highway_caps
cat "$logs/highway_caps.log"
expected_caps='x86_64: -
x86_64_v2: HWY_AVX3_DL HWY_AVX3 HWY_AVX2
x86_64_v3: HWY_AVX3_DL HWY_AVX3
zen3: HWY_AVX3_DL HWY_AVX3
skylake_avx512: HWY_AVX3_DL
icelake: -
sapphirerapids: -
aarch64: -
neoverse_n1: HWY_SVE2 HWY_SVE2_128 HWY_SVE HWY_SVE_256
a64fx: HWY_SVE2 HWY_SVE2_128
neoverse_v2: -'
[ "$(grep -E '^[a-z0-9_]+: ' "$logs/highway_caps.log")" = "$expected_caps" ] \
  || { echo "package.py capped Highway's targets otherwise; expected:"; echo "$expected_caps"; exit 1; }

step install spack install --test=root --fail-fast tally
prefix=$(spack location -i tally)
# Debian's only HDF5 is serial: the installed tally took it.
# (`-v`: with variants; `spack find --json` holds the root node only.)
spack find -dv tally >"$logs/find.log" 2>&1
grep -Eq '^ +hdf5@[^ ]*~mpi' "$logs/find.log" || { cat "$logs/find.log"; echo "installed tally is not on the serial HDF5"; exit 1; }
# Spack keeps the build's output gzipped in the prefix (spack-build-out.txt.gz), the
# install-time tests' output beside it.
zcat -f "$prefix/.spack/spack-build-out.txt"* >"$logs/build-out.log"
zcat -f "$prefix/.spack/install-time-test-log.txt"* >"$logs/install-time-tests.log" 2>/dev/null || true
# CMake's list of unused variables: Spack's own standard arguments may appear there
# (CMAKE_POLICY_DEFAULT_CMP0090, *PYTHON*_EXECUTABLE), but none that package.py passes.
unused=$(awk '/Manually-specified variables were not used/ { on = 1; next } on && /^ *$/ && seen { on = 0 }
              on && NF { seen = 1; print $1 }' "$logs/build-out.log")
echo "unused variables CMake reports: ${unused:-none}"
if grep -q '^TALLY_' <<<"$unused"; then
  echo "CMake warns about variables package.py passes for nothing"
  exit 1
fi
# The Highway definitions reached the compiler wrapper (flag_handler).
grep -q 'HWY_WANT_AVX3_DL' "$prefix/.spack/spack-build-env.txt" \
  || { echo "package.py's Highway definitions are not in the build environment"; exit 1; }
cat "$logs/build-out.log" "$logs/install-time-tests.log" >"$logs/tests-seen.log"
grep -Eq '([0-9]+)% tests passed' "$logs/tests-seen.log" || { echo "no test suite ran in spack install --test=root"; exit 1; }
grep -E 'tests passed|Total Test time' "$logs/tests-seen.log"

step load_version bash -c ". '$work/spack/share/spack/setup-env.sh' && spack load tally && command -v tally && tally --version"
grep -qx "$prefix/bin/tally" "$logs/load_version.log" || { echo "spack load tally did not put $prefix/bin first"; exit 1; }
grep -Eq '^tally [0-9]+\.[0-9]+' "$logs/load_version.log"

# The console shows only the summary ("1 passed of 1 spec": a spec passes when no part
# failed and one passed); each part's status is in the suite's log.
test_parts() {
  spack test run --alias tally-check tally
  spack test results -l tally-check
}
step test_run test_parts
grep -Eq '^=+ 1 passed of 1 spec =+$' "$logs/test_run.log" || { cat "$logs/test_run.log"; exit 1; }
for part in test_version test_mpi_run; do
  grep -q "^PASSED: Tally::$part" "$logs/test_run.log" || { echo "spack test run: $part did not pass"; cat "$logs/test_run.log"; exit 1; }
done

# The installed binary under two ranks, outside any Spack environment, RPATHs only,
# checked by verify and against the installed NumPy reference.
two_ranks() {
  mkdir -p "$run/two-ranks"
  cd "$run/two-ranks"
  if ldd "$prefix/bin/tally" | grep 'not found'; then return 1; fi
  OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 timeout -k 10 120 \
    mpirun -np 2 --oversubscribe "$prefix/bin/tally" run --tasks 4 --samples 100000 --output run.h5 --quiet
  timeout 60 "$prefix/bin/tally" verify run.h5 --all
  local total='import json, sys; print(json.load(sys.stdin)["total"])'
  expected=$(timeout 60 "$prefix/share/tally/scripts/reference" --tasks 4 --samples 100000 --json | /usr/bin/python3 -c "$total")
  actual=$(timeout 60 "$prefix/bin/tally" inspect run.h5 --json | /usr/bin/python3 -c "$total")
  echo "two ranks: tally $actual, reference $expected"
  test -n "$actual" && test "$actual" = "$expected"
}
step two_ranks two_ranks
cat "$logs/two_ranks.log"

# `spack load tally` (variant +python, the default) makes `import tally` work: the
# installed package, and no other, reads the two-rank run's file.
load_python() {
  cd "$run/two-ranks"
  unset PYTHONPATH
  set +u  # setup-env.sh is not set -u clean
  . "$work/spack/share/spack/setup-env.sh"
  spack load tally
  local check='import sys, tally
assert tally.__file__.startswith(sys.argv[1] + "/"), tally.__file__
r = tally.Results("run.h5")
print("import tally:", tally.__file__, "total", r.total)
sys.exit(0 if str(r.total) == open("total").read().strip() else 1)'
  timeout 60 "$prefix/bin/tally" inspect run.h5 --json | /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["total"])' >total
  timeout 120 /usr/bin/python3 -c "$check" "$prefix"
}
step load_python load_python
cat "$logs/load_python.log"
echo "spack install, load, test run and a two-rank run of $prefix: all passed"
