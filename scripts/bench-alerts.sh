#!/usr/bin/env bash
# Benchmarks alerting (scripts/bench/alerts.py) with the default policy, on 127.0.0.1:
# the demo company, a local webhook receiver, and `journeyd run` on the shipped journeys.
#
# 1. Detection latency: from a fault injected in the demo company to the FIRING
#    notification at the receiver (and from its removal to RESOLVED), for an ordinary
#    step failure (`catalog error`) and a stuck back-end process (`fulfillment stuck`),
#    3 times each, against the journeys' interval (10 s).
# 2. False pages: a proxy in front of the demo fails 3 % of requests at random (seeded)
#    for 10 minutes (interval 5 s); every JourneyFailing notification is a false page.
#
# Usage: scripts/bench-alerts.sh [ARGS for scripts/bench/alerts.py]
#   e.g. --false-seconds 120, --fail-fraction 0.01, --trials 5, --skip-latency
# Takes about 16 minutes (plus the build). Everything started is stopped on exit.
# Figures and how to read them: docs/benchmarks.md, "Alert detection latency and false pages".
set -euo pipefail

cd "$(dirname "$0")/.."

echo "== machine: $(nproc) cores, $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n1), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== building (release)"
cargo build --release --locked
bin="$PWD/target/release/journeyd"

work="$(mktemp -d -t journeyd-bench-alerts.XXXXXX)"
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

echo
echo "== python3 scripts/bench/alerts.py $*"
# Each phase is bounded inside (waits time out, the stretch is --false-seconds);
# timeout is the outer bound. In the background and waited for, so a TERM or Ctrl-C
# reaches the traps at once.
timeout 10800 python3 scripts/bench/alerts.py --bin "$bin" --repo "$PWD" --workdir "$work/run" "$@" &
child=$!
wait "$child"
child=""
