#!/usr/bin/env bash
# Builds the Debian package of journeyd into target/debian/ and prints its path
# (last line of stdout). From a clean clone; installs cargo-deb (cargo) and
# dpkg-dev (apt, for dpkg-shlibdeps: the computed dependencies) when missing.
#
# What goes where is [package.metadata.deb] in Cargo.toml. This script builds
# the release binary, then generates from it, into target/debian-assets/, what
# must never drift from the code: the manual pages (`journeyd manpages`), the
# bash, zsh and fish completions (`journeyd completions`), and the systemd unit
# (deploy/systemd/journeyd.service with ExecStart=/usr/bin/journeyd). Then
# cargo-deb packs it all, without building again.
set -euo pipefail
cd "$(dirname "$0")/.."

# The cargo-deb release whose behaviour Cargo.toml's metadata was written for.
CARGO_DEB_VERSION=3.8.0

say() { printf '\n--> %s\n' "$*" >&2; }
fail() {
    printf 'FAIL: %s\n' "$*" >&2
    exit 1
}

installed_cargo_deb=$(cargo deb --version 2>/dev/null || true)
if [ -z "$installed_cargo_deb" ]; then
    say "installing cargo-deb $CARGO_DEB_VERSION"
    cargo install cargo-deb --locked --version "$CARGO_DEB_VERSION" >&2
elif [ "$installed_cargo_deb" != "cargo-deb $CARGO_DEB_VERSION" ]; then
    say "note: using $installed_cargo_deb; the packaging is checked with cargo-deb $CARGO_DEB_VERSION"
fi
if ! command -v dpkg-shlibdeps >/dev/null 2>&1; then
    say "installing dpkg-dev (dpkg-shlibdeps)"
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends dpkg-dev >/dev/null
fi

say "cargo build --release"
cargo build --release --locked --quiet
target_dir=$(cargo metadata --format-version 1 --no-deps --locked |
    grep -o '"target_directory":"[^"]*"' | cut -d '"' -f 4)
bin="$target_dir/release/journeyd"
[ -x "$bin" ] || fail "no binary at $bin"

# build.rs lays the functions in layout/hot-functions.txt out first; a list
# whose names the binary no longer has (after a compiler or dependency update)
# silently costs the idle daemon ~15 MiB of code pages, so it fails here.
say "code layout: functions of layout/hot-functions.txt in $bin"
listed=$(grep -c . layout/hot-functions.txt)
found=$(nm --defined-only "$bin" | awk 'NF == 3 {print $3}' | sort -u |
    comm -12 - <(sort -u layout/hot-functions.txt) | wc -l)
# awk reads to the end: an early exit would stop nm with SIGPIPE under pipefail.
first_in_text=$(nm -n --defined-only "$bin" | awk '$2 ~ /^[tT]$/ && !seen {print $3; seen = 1}')
say "$found of $listed listed functions found; .text starts with $first_in_text"
[ $((found * 4)) -ge $((listed * 3)) ] ||
    fail "the code layout is stale: only $found of $listed functions in layout/hot-functions.txt are in the binary; run python3 scripts/bench/layout.py --bin $bin, then build again"
grep -qxF -- "$first_in_text" layout/hot-functions.txt ||
    fail "the linker did not apply layout/hot-functions.txt (.text starts with $first_in_text, which it does not list): see build.rs"

# Cargo.toml names these paths relative to the repository (cargo-deb remaps only
# target/release/), so they live here whatever CARGO_TARGET_DIR says. Made
# afresh each time: a page of a removed subcommand must not linger.
assets=target/debian-assets
say "generating $assets/ from $bin"
rm -rf "$assets"
mkdir -p "$assets/man" "$assets/completions"
"$bin" manpages "$assets/man" >/dev/null
"$bin" completions bash >"$assets/completions/journeyd"
"$bin" completions zsh >"$assets/completions/_journeyd"
"$bin" completions fish >"$assets/completions/journeyd.fish"
unit=deploy/systemd/journeyd.service
sed 's#^ExecStart=/usr/local/bin/journeyd #ExecStart=/usr/bin/journeyd #' "$unit" >"$assets/journeyd.service"
grep -q '^ExecStart=/usr/bin/journeyd run ' "$assets/journeyd.service" ||
    fail "$unit: ExecStart is not /usr/local/bin/journeyd run ..., cannot point it at /usr/bin"
ls "$assets"/man "$assets"/completions >&2

# The changelog's newest entry must be this version, or the package would say
# one version and its changelog another.
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
changelog_version=$(sed -n '1s/^journeyd (\([^)]*\)).*/\1/p' deploy/debian/changelog)
[ "$changelog_version" = "$version-1" ] ||
    fail "deploy/debian/changelog starts at $changelog_version, Cargo.toml says $version (want $version-1): add an entry"

say "cargo deb"
mkdir -p target/debian
rm -f target/debian/journeyd_*.deb
# --strip: [profile.release] keeps line tables for backtraces; the package
# ships the stripped binary (Debian policy, lintian).
cargo deb --no-build --locked --strip --output target/debian/ >&2
deb=$(ls target/debian/journeyd_*.deb)
[ "$(wc -l <<<"$deb")" -eq 1 ] || fail "expected one package in target/debian/, found: $deb"
say "built $deb"
echo "$PWD/$deb"
