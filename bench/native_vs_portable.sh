#!/usr/bin/env bash
# Is the default (TALLY_NATIVE=OFF) build as fast as a -march=native one? The kernels
# pick their AVX-512 paths at run time, so it should be. Runs the key kernel benchmarks
# and the default `tally run` from two build trees, interleaved, best of REPS each
# (same-run ratios: the machine is shared and noisy), and writes
# bench/results/native-<date>.txt.
# Usage: bench/native_vs_portable.sh DEFAULT_BUILD NATIVE_BUILD [REPS]
#   e.g. cmake -S . -B /tmp/native -G Ninja -DCMAKE_BUILD_TYPE=Release -DTALLY_NATIVE=ON \
#          -DBUILD_TESTING=OFF && cmake --build /tmp/native --target tally tally_kernel_bench
#        bench/native_vs_portable.sh build/release /tmp/native 5
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
default=$(cd "$1" && pwd) native=$(cd "$2" && pwd) reps=${3:-3}
py=${PYTHON:-/usr/bin/python3}
filter='^(fast_hwy/avx512|numpy_hwy/avx512|span/fast/100|span/numpy/100|span/fast/2\^40|span/numpy/2\^32|histogram/fast/100|threads/fast/2)/'
for b in "$default" "$native"; do
  [ -x "$b/bench/tally_kernel_bench" ] && [ -x "$b/src/app/tally" ] \
    || { echo "$b: build tally and tally_kernel_bench there first" >&2; exit 2; }
done
grep -q 'march=native' "$native/build.ninja" || { echo "$native is not a TALLY_NATIVE=ON build" >&2; exit 2; }
! grep -q 'march=native' "$default/build.ninja" || { echo "$default is a -march=native build" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
raw=$work/raw.txt
for i in $(seq "$reps"); do
  for kind in default native; do
    b=$default
    [ $kind = native ] && b=$native
    "$b/bench/tally_kernel_bench" --benchmark_filter="$filter" --benchmark_min_time=0.05 --benchmark_repetitions=10 \
      --benchmark_format=csv 2>/dev/null |
      awk -F, -v k=$kind 'NR > 1 && $1 !~ /_(mean|median|stddev|cv)"?$/ { gsub(/"/, "", $1); sub(/\/real_time/, "", $1); print k, $1, $NF }' >>"$raw"
    s=$( { /usr/bin/time -f %e "$b/src/app/tally" run --quiet --force -o "$work/$kind.h5" >/dev/null; } 2>&1 | tail -1)
    echo "$kind tally_run_default $s" >>"$raw"
  done
done
stamp=$(date +%Y%m%d-%H%M)
out=$here/bench/results/native-$stamp.txt
"$py" - "$raw" "$reps" >"$out" <<'PY'
import sys, platform, subprocess
raw, reps = sys.argv[1], sys.argv[2]
best = {}
for line in open(raw):
    kind, name, value = line.split()
    key = (kind, name)
    best[key] = min(best.get(key, float("inf")), float(value))
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print(f"# TALLY_NATIVE=OFF (default, run-time dispatch) vs =ON (-march=native); best of {reps} interleaved reps; cpu: {cpu}")
print("# kernel benchmarks: ns per number (Google Benchmark items); tally_run_default: seconds of `tally run` (8 x 10^6)")
print(f"{'benchmark':28s} {'default':>10s} {'native':>10s} {'default/native':>15s}")
for name in sorted({n for _, n in best}):
    d, n = best[("default", name)], best[("native", name)]
    print(f"{name:28s} {d:10.4g} {n:10.4g} {d / n:15.3f}")
PY
cat "$out"
echo "written: $out"
