# Sourced by the Python tools: picks a Python that has NumPy (and h5py): $PYTHON if
# set, else Debian's /usr/bin/python3 (the first python3 on PATH may lack them).
tally_python() {
  local candidate
  for candidate in "${PYTHON:-}" /usr/bin/python3 python3; do
    [ -n "$candidate" ] || continue
    if "$candidate" -c 'import numpy' >/dev/null 2>&1; then
      echo "$candidate"
      return 0
    fi
  done
  echo "tally: error: no Python with NumPy found; install python3-numpy or set PYTHON" >&2
  return 2
}
