#!/usr/bin/env bash
# Benchmarks the journey runner (benches/runner.rs): 1,000 runs of a five-step
# journey against a fast local target on 127.0.0.1, at concurrency 1 and 8,
# each next to a bare-reqwest reference measured in the same run.
#
# Usage: scripts/bench-runner.sh [RUNS]   (default 1000)
# Figures and how to read them: docs/benchmarks.md, "Journey runner".
set -euo pipefail

cd "$(dirname "$0")/.."
runs="${1:-1000}"

echo "== machine: $(nproc) cores, $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n1)"
echo "== building (release)"
cargo bench --bench runner --no-run

# The built binary, so /usr/bin/time measures the benchmark and not cargo.
bin="$(cargo bench --bench runner --no-run --message-format=json 2>/dev/null |
  sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n1)"
if [[ -z "$bin" || ! -x "$bin" ]]; then
  echo "cannot find the runner benchmark binary" >&2
  exit 1
fi

run() {
  local concurrency="$1"
  echo
  echo "== cargo bench --bench runner -- --runs $runs --concurrency $concurrency"
  # The measured runs are capped at 100 s inside the benchmark (--max-seconds), wrk at
  # 5 s; timeout keeps one invocation under 2 min whatever happens.
  if [[ -x /usr/bin/time ]]; then
    timeout 120 /usr/bin/time -f 'external: max RSS %M KiB, user %U s, sys %S s, wall %e s' \
      "$bin" --runs "$runs" --concurrency "$concurrency"
  else
    timeout 120 "$bin" --runs "$runs" --concurrency "$concurrency"
  fi
}

run 1
run 8
