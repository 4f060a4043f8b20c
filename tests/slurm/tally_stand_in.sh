#!/bin/bash
# TALLY_BIN for tests/slurm/stop_signals.py: runs the real tally (WRAP_REAL), and puts the
# job script where a test needs it to be, deterministically. Every wait is bounded.
#   WRAP_DIR              state files of this job
#   WRAP_HOLD_INSPECT=N   the N-th `inspect` (the job script's verdict) creates $WRAP_DIR/held
#                         and waits until $WRAP_DIR/release exists (at most 300 s)
#   WRAP_FAIL_FIRST_RUN=1 the first launch stops at its first checkpoint and exits 1, as a
#                         crashed launch would; later launches run normally
#   WRAP_HANG_AFTER_RUN=1 after tally has exited, the rank stays (300 s): a launcher that
#                         never returns although the results file is complete
set -u
if [ "${1:-}" = inspect ] && [ -n "${WRAP_HOLD_INSPECT:-}" ]; then
  n=$(( $(cat "$WRAP_DIR/inspects" 2>/dev/null || echo 0) + 1 ))
  echo "$n" > "$WRAP_DIR/inspects"
  if [ "$n" = "$WRAP_HOLD_INSPECT" ]; then
    touch "$WRAP_DIR/held"
    for _ in $(seq 3000); do [ -e "$WRAP_DIR/release" ] && break; sleep 0.1; done
  fi
fi
if [ "${1:-}" = run ] && [ "${WRAP_FAIL_FIRST_RUN:-0}" = 1 ] && [ ! -e "$WRAP_DIR/failed-once" ]; then
  "$WRAP_REAL" "$@" --max-seconds 0.001
  touch "$WRAP_DIR/failed-once"
  exit 1
fi
if [ "${1:-}" = run ] && [ "${WRAP_HANG_AFTER_RUN:-0}" = 1 ]; then
  "$WRAP_REAL" "$@"
  exec sleep 300
fi
exec "$WRAP_REAL" "$@"
