#!/usr/bin/env bash
# Fleet benchmark (scripts/bench/fleet.py, issue 8): three replicas sharing N journeys
# (default 10,000, 60 s interval) through a local PostgreSQL, against one nginx on
# 127.0.0.1, in one invocation: a solo daemon (SQLite, no fleet) and a fleet of one
# replica as references, then three replicas: CPU per run per replica and in total, the
# ratio against one replica, PostgreSQL's CPU, balance, kill -9 takeover, rejoin and
# SIGTERM hand-over times, and the lease upkeep of three idle replicas.
#
# Usage: scripts/bench-fleet.sh [--journeys N] [--seconds S] [--ttl T]
#   (defaults 10000, 90, 30; `--journeys 300 --seconds 20 --ttl 3` is a CI-sized smoke run)
# Installs what is missing with apt-get (as root): nginx-light, postgresql. PostgreSQL is
# a temporary cluster on a free port, run as the `postgres` user; everything started is
# stopped on exit. Traffic stays on 127.0.0.1, each window is bounded by --seconds and
# the whole run by `timeout`. About 9 minutes at 10,000 journeys.
# Figures and how to read them: docs/benchmarks.md, "Fleet".
set -euo pipefail

cd "$(dirname "$0")/.."

echo "== machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
missing=()
command -v nginx >/dev/null || missing+=(nginx-light)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
command -v psql >/dev/null || missing+=(postgresql-client)
if ((${#missing[@]})); then
  if [[ $(id -u) == 0 ]]; then
    echo "== apt-get install ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
  else
    echo "== missing ${missing[*]} (run as root to install them)" >&2
    exit 1
  fi
fi

echo "== building (release)"
cargo build --release --locked
bin="$PWD/target/release/journeyd"
[[ -n "${CARGO_TARGET_DIR:-}" ]] && bin="$CARGO_TARGET_DIR/release/journeyd"

work="$(mktemp -d -t journeyd-bench-fleet.XXXXXX)"
# The Python side appends the pid of every process it starts (journeyd, nginx, the
# postmaster); stop any still running, only ours.
export BENCH_PIDS="$work/pids"
child=""
cleanup() {
  if [[ -n "$child" ]]; then
    kill "$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
  fi
  if [[ -f "$BENCH_PIDS" ]]; then
    while read -r pid; do
      if grep -qaE 'journeyd|nginx|postgres' "/proc/$pid/cmdline" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
      fi
    done <"$BENCH_PIDS"
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

echo "== python3 scripts/bench/fleet.py $*"
# In the background and waited for, so a TERM or Ctrl-C reaches the traps at once.
timeout 1800 python3 scripts/bench/fleet.py --bin "$bin" --workdir "$work/run" "$@" &
child=$!
wait "$child"
child=""
