#!/usr/bin/env bash
# The whole test suite, from a clean clone: installs what the tests need
# (Debian packages) when missing, then runs formatting, lints, every test,
# and the deployment checks. CI (.ci/run) calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n==> %s\n' "$*"; }

# Debian packages the end-to-end tests use: a real Prometheus (and promtool),
# a real Alertmanager, headless Chromium for the status page, systemd-analyze,
# PostgreSQL.
need_packages=()
command -v promtool >/dev/null 2>&1 || need_packages+=(prometheus)
command -v prometheus-alertmanager >/dev/null 2>&1 || command -v alertmanager >/dev/null 2>&1 || need_packages+=(prometheus-alertmanager)
command -v chromium >/dev/null 2>&1 || need_packages+=(chromium)
command -v systemd-analyze >/dev/null 2>&1 || need_packages+=(systemd)
command -v python3 >/dev/null 2>&1 || need_packages+=(python3)
# check-deploy.sh installs kubernetes-validate (PyPI) into a venv.
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || need_packages+=(python3-venv)
# PostgreSQL for the PostgreSQL store and fleet tests: they start throw-away
# clusters with initdb/pg_ctl from /usr/lib/postgresql/*/bin (as the postgres
# user when run as root), and fail when it is missing.
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need_packages+=(postgresql)
if [ ${#need_packages[@]} -gt 0 ]; then
    say "installing ${need_packages[*]}"
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    # Package scripts must not try to start services (no init system in CI containers).
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${need_packages[@]}" >/dev/null
fi

say "cargo fmt --check"
cargo fmt --all -- --check

say "cargo clippy"
cargo clippy --all-targets --locked -- -D warnings

say "house rules (module cycles, file sizes)"
scripts/check-house.sh

say "deployment checks"
scripts/check-deploy.sh

say "tests"
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --locked --no-fail-fast
    cargo test --locked --doc
else
    cargo test --locked --no-fail-fast
fi

say "Debian package: build, lintian, install, check, purge"
scripts/check-package.sh
