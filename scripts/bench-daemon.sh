#!/usr/bin/env bash
# Benchmarks the daemon (scripts/bench/daemon.py): `journeyd run` scheduling 1,000
# journeys every 60 s for 120 s, then 10,000 journeys every 300 s for 300 s, against
# the demo company on 127.0.0.1. Prints CPU use, peak RSS, scheduling lag p50/p99 and
# runs/s, next to references measured in the same run on the same target: a bare
# Python HTTP client doing the same work as fast as it can, and `journeyd once`.
#
# Usage: scripts/bench-daemon.sh [quick]   (quick: 20 s windows, a smoke test)
# Takes about 8 minutes (plus the build). Traffic stays on 127.0.0.1; every window is
# bounded and each invocation is under `timeout`; everything started is stopped on exit.
# Figures and how to read them: docs/benchmarks.md, "Daemon at 1,000 and 10,000 journeys".
set -euo pipefail

cd "$(dirname "$0")/.."
mode="${1:-full}"

echo "== machine: $(nproc) cores, $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n1), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== building (release)"
cargo build --release --locked
bin="$PWD/target/release/journeyd"

work="$(mktemp -d -t journeyd-bench-daemon.XXXXXX)"
# The Python side appends the pid of every process it starts; stop any still running
# (only ours: the command line must be journeyd or one of scripts/bench/*.py).
export BENCH_PIDS="$work/pids"
child=""
cleanup() {
  # timeout passes the TERM on to the Python side, which stops what it started.
  if [[ -n "$child" ]]; then
    kill "$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
  fi
  if [[ -f "$BENCH_PIDS" ]]; then
    while read -r pid; do
      if grep -qaE 'journeyd|scripts/bench/' "/proc/$pid/cmdline" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
      fi
    done <"$BENCH_PIDS"
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

run() {
  local journeys="$1" interval="$2" seconds="$3"
  echo
  echo "== python3 scripts/bench/daemon.py --journeys $journeys --interval $interval --seconds $seconds"
  # The window is bounded inside; timeout bounds start-up, references and shutdown too.
  # In the background and waited for, so a TERM or Ctrl-C reaches the traps at once.
  timeout $((seconds + 300)) python3 scripts/bench/daemon.py --bin "$bin" \
    --journeys "$journeys" --interval "$interval" --seconds "$seconds" \
    --workdir "$work/$journeys" &
  child=$!
  wait "$child"
  child=""
}

if [[ "$mode" == quick ]]; then
  run 1000 60 20
  run 10000 300 20
else
  run 1000 60 120
  run 10000 300 300
fi
