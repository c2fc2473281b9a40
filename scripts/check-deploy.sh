#!/usr/bin/env bash
# Static checks of deploy/: journeys, Prometheus rules. Extended as deploy/ grows.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --quiet --locked -- check journeys/
