#!/usr/bin/env bash
# Installs the build into a temporary prefix and uses the installed files from a
# directory outside the source and build trees: tally under mpirun, verify, the job
# templates and the analysis scripts.
set -euo pipefail
build=$1
prefix=$(mktemp -d /tmp/tally-prefix-XXXXXX)
work=$(mktemp -d /tmp/tally-install-run-XXXXXX)
trap 'rm -rf "$prefix" "$work"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
cd "$work"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
"$prefix/bin/tally" --version | grep -q '^tally [0-9]'
mpirun -np 2 --oversubscribe "$prefix/bin/tally" run --tasks 4 --samples 100000 --output run.h5 --quiet
"$prefix/bin/tally" verify run.h5 --all >/dev/null
for f in jobs/tally.sbatch jobs/sweep.sbatch jobs/pipeline scripts/analyze scripts/reference; do
  test -x "$prefix/share/tally/$f" || { echo "missing $prefix/share/tally/$f"; exit 1; }
done
test -f "$prefix/share/doc/tally/README.md"
"$prefix/share/tally/scripts/analyze" run.h5 --out plots >/dev/null
test -s plots/run-tasks.png
total() { "${PYTHON:-/usr/bin/python3}" -c 'import json, sys; print(json.load(sys.stdin)["total"])'; }
expected=$("$prefix/share/tally/scripts/reference" --tasks 4 --samples 100000 --json | total)
actual=$("$prefix/bin/tally" inspect run.h5 --json | total)
test "$expected" = "$actual" || { echo "installed tally says $actual, installed reference says $expected"; exit 1; }
PYTHONPATH="$prefix/share/tally/python" "${PYTHON:-/usr/bin/python3}" -c \
  "import tally, sys; r = tally.Results('run.h5'); sys.exit(0 if r.total == int('$actual') and r.status == 'complete' else 1)"
echo "installed tally works from $prefix"
