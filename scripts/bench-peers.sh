#!/usr/bin/env bash
# Side-by-side benchmark (scripts/bench/peers.py): Hurl, Debian's blackbox_exporter and
# `journeyd run` on the same local nginx target (a five-step shop of static JSON on
# 127.0.0.1), N runs each, in one invocation. Prints CPU per run, CPU per request, peak
# RSS, series per journey and the ratios journeyd/Hurl and journeyd/blackbox.
#
# Usage: scripts/bench-peers.sh [RUNS]   (default 1000; options of peers.py may follow)
# Installs what is missing: nginx-light and prometheus-blackbox-exporter with apt-get
# (as root), Hurl with `cargo install hurl --locked` (needs libcurl and libxml2
# development files; when it fails, Hurl is skipped with a message and the rest runs).
# Traffic stays on 127.0.0.1; each side is bounded by --max-seconds (240) and the whole
# run by `timeout`; everything started is stopped on exit.
# Figures and how to read them: docs/benchmarks.md, "Side by side: Hurl, blackbox_exporter".
set -euo pipefail

cd "$(dirname "$0")/.."
runs="${1:-1000}"
shift || true

echo "== machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
missing=()
command -v nginx >/dev/null || missing+=(nginx-light)
command -v prometheus-blackbox-exporter >/dev/null || missing+=(prometheus-blackbox-exporter)
if ((${#missing[@]})); then
  if [[ $(id -u) == 0 ]]; then
    echo "== apt-get install ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
  else
    echo "== missing ${missing[*]} (run as root to install them); the script needs nginx" >&2
  fi
fi
if ! command -v hurl >/dev/null && [[ ! -x "$HOME/.cargo/bin/hurl" ]]; then
  echo "== cargo install hurl --locked (once; skipped on failure)"
  if ! timeout 1800 cargo install hurl --locked >/tmp/journeyd-bench-hurl-install.log 2>&1; then
    echo "== Hurl could not be installed (see /tmp/journeyd-bench-hurl-install.log): Hurl is skipped"
  fi
fi

echo "== building (release)"
cargo build --release --locked
bin="$PWD/target/release/journeyd"
[[ -n "${CARGO_TARGET_DIR:-}" ]] && bin="$CARGO_TARGET_DIR/release/journeyd"

child=""
cleanup() {
  if [[ -n "$child" ]]; then
    kill "$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
  fi
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

echo "== python3 scripts/bench/peers.py --runs $runs $*"
timeout 900 python3 scripts/bench/peers.py --bin "$bin" --runs "$runs" "$@" &
child=$!
wait "$child"
child=""
