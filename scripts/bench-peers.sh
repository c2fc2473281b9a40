#!/usr/bin/env bash
# Side-by-side benchmark (scripts/bench/peers.py): Hurl, Debian's blackbox_exporter and
# `journeyd run` on the same local nginx target (a five-step shop of static JSON on
# 127.0.0.1), N runs each, in one invocation. Prints CPU per run, CPU per request, peak
# RSS, series per journey and the ratios journeyd/Hurl and journeyd/blackbox.
#
# Usage: scripts/bench-peers.sh [RUNS]   (default 1000; options of peers.py may follow)
# Installs what is missing: nginx-light and prometheus-blackbox-exporter with apt-get
# (as root), Hurl with `cargo install hurl --version 8.0.1 --locked` after apt-get
# installing its build dependencies (libcurl, libxml2, clang development files); when
# that fails, Hurl is skipped with a message and the rest runs.
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
# Hurl's build needs libcurl, libxml2 and clang development files (openssl-sys, curl-sys,
# libxml bindgen). HURL_VERSION pins the release: 8.0.1 is the one the issue measured and
# the newest that builds with the project's Rust 1.95 (8.1 needs 1.99).
hurl_version="${HURL_VERSION:-8.0.1}"
if ! command -v hurl >/dev/null && [[ ! -x "$HOME/.cargo/bin/hurl" ]]; then
  deps=()
  for p in libcurl4-openssl-dev libxml2-dev pkg-config libclang-dev; do
    dpkg -s "$p" >/dev/null 2>&1 || deps+=("$p")
  done
  if ((${#deps[@]})); then
    if [[ $(id -u) == 0 ]]; then
      echo "== apt-get install ${deps[*]} (to build Hurl)"
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${deps[@]}" >/dev/null ||
        echo "== apt-get install ${deps[*]} failed; the Hurl build below will likely fail"
    else
      echo "== missing ${deps[*]} (run as root to install them); the Hurl build will likely fail"
    fi
  fi
  echo "== cargo install hurl --version $hurl_version --locked (once, niced; skipped on failure)"
  # Its own target directory: Hurl's build must not touch journeyd's.
  if ! CARGO_TARGET_DIR="${TMPDIR:-/tmp}/journeyd-bench-hurl-target" timeout 3600 \
    nice -n 19 cargo install hurl --version "$hurl_version" --locked \
    >/tmp/journeyd-bench-hurl-install.log 2>&1; then
    echo "== Hurl could not be installed (see /tmp/journeyd-bench-hurl-install.log):" \
      "Hurl is SKIPPED, the journeyd/Hurl ratio will not be printed"
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
