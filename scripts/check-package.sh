#!/usr/bin/env bash
# Builds the Debian package (scripts/package-deb.sh) and checks it the way an
# operator meets it: lintian, then a real `dpkg -i` on this machine (CI: root on
# Debian 12, no systemd as PID 1, so nothing may try to start the service),
# the installed binary, man pages, completions and unit, the default
# configuration with the packaged journeys, a local edit surviving an upgrade,
# and `dpkg --purge` leaving nothing behind.
#
# Installs journeyd on this machine for the duration of the check, so it must
# run as root (or with sudo), and purges it again on any exit. Safe to run
# twice: a journeyd package an interrupted earlier run left is purged first;
# one installed otherwise makes it stop (unless CI=true) rather than purge it.
# Installs lintian, man-db and systemd (systemd-analyze) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n--> %s\n' "$*"; }
fail() {
    printf 'FAIL: %s\n' "$*" >&2
    exit 1
}
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive

need_packages=()
command -v lintian >/dev/null 2>&1 || need_packages+=(lintian)
command -v man >/dev/null 2>&1 || need_packages+=(man-db)
command -v systemd-analyze >/dev/null 2>&1 || need_packages+=(systemd)
if [ ${#need_packages[@]} -gt 0 ]; then
    say "installing ${need_packages[*]}"
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${need_packages[@]}" >/dev/null
fi

# A journeyd this script did not install (an operator's, with their
# configuration) is never purged, except on CI where the machine is throw-away.
marker=target/debian/.installed-by-check-package
installed() { dpkg-query -W -f='${db:Status-Status}' journeyd 2>/dev/null | grep -qvx not-installed; }
purge() {
    $SUDO dpkg --purge journeyd >/dev/null
    rm -f "$marker"
}
if installed; then
    if [ -e "$marker" ] || [ "${CI:-}" = true ]; then
        say "purging the journeyd package an earlier, interrupted run left"
        purge
    else
        fail "journeyd is installed on this machine; this check installs and purges it (configuration included). Purge it first (dpkg --purge journeyd), or run with CI=true"
    fi
fi
tmp=$(mktemp -d)
trap 'if [ -e "$marker" ] && installed; then purge; fi; rm -rf "$tmp"' EXIT

say "scripts/package-deb.sh"
deb=$(scripts/package-deb.sh | tail -n 1)
[ -f "$deb" ] || fail "package-deb.sh printed no package path (got: $deb)"
version=$(dpkg-deb --field "$deb" Version)
echo "ok: $deb (version $version)"

# ---------------------------------------------------------------------- lintian
say "lintian $(basename "$deb")"
# --fail-on warning: every warning is either fixed or overridden with its
# reason in deploy/debian/lintian-overrides (shipped in the package, where
# lintian reads it). Informational tags are shown, never fatal; those seen on
# journeyd 0.1.0: hardening-no-fortify-functions (a Rust binary; only the bundled
# SQLite is C), no-md5sums-control-file (cargo-deb writes none),
# package-supports-alternative-init-but-no-init.d-script (the unit needs systemd:
# DynamicUser=, LoadCredential=, Type=notify), spelling-error-in-binary (strings
# of dependencies), systemd-service-file-missing-documentation-key
# (systemd-analyze verify runs man on Documentation=man:... pages, which a
# manual install, checked by check-deploy.sh, does not have). Lintian also says that running as root is not recommended:
# CI runs as root, and lintian only reads the package.
lintian --fail-on error,warning --display-info --tag-display-limit 0 "$deb" | tee "$tmp/lintian.txt" ||
    fail "lintian found errors or warnings (above)"
echo "ok: no lintian errors or warnings ($(grep -c . "$tmp/lintian.txt" || true) informational lines)"

# ---------------------------------------------------------------------- install
say "dpkg -i $(basename "$deb")"
touch "$marker"
$SUDO dpkg -i "$deb"
dpkg-query -W -f='${db:Status-Abbrev}\n' journeyd | grep -q '^ii' || fail "journeyd is not installed after dpkg -i"
dpkg-query -L journeyd | sort >"$tmp/files.txt"

say "journeyd --version is /usr/bin/journeyd ${version%-*}"
[ "$(command -v journeyd)" = /usr/bin/journeyd ] || fail "journeyd on PATH is $(command -v journeyd)"
got=$(journeyd --version)
[ "$got" = "journeyd ${version%-*}" ] || fail "journeyd --version says '$got'"
echo "ok: $got"

say "man pages: journeyd(1), one per subcommand, journeyd.yaml(5)"
man -w journeyd
man -w 5 journeyd.yaml
# The subcommands as --help lists them (less `help`): each has its page.
mapfile -t subcommands < <(journeyd --help | sed -n '/^Commands:/,/^$/s/^  \([a-z-]*\) .*/\1/p' | grep -vx help)
[ ${#subcommands[@]} -ge 5 ] || fail "could not read the subcommands from journeyd --help"
for sub in "${subcommands[@]}"; do
    man -w "journeyd-$sub" >/dev/null || fail "no man page journeyd-$sub(1)"
done
echo "ok: journeyd-{$(IFS=,; echo "${subcommands[*]}")}(1)"
# groff warnings (what lintian's manpage checks also see) on every page.
for page in $(grep '/usr/share/man/' "$tmp/files.txt" | grep '\.gz$'); do
    warnings=$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l "$page" 2>&1 >/dev/null)
    [ -z "$warnings" ] || fail "$page: $warnings"
done
echo "ok: no groff warnings"

say "completions: bash, zsh, fish, as journeyd completions SHELL prints them"
declare -A completion=(
    [bash]=/usr/share/bash-completion/completions/journeyd
    [zsh]=/usr/share/zsh/vendor-completions/_journeyd
    [fish]=/usr/share/fish/vendor_completions.d/journeyd.fish
)
for shell in bash zsh fish; do
    f=${completion[$shell]}
    [ -s "$f" ] || fail "missing $f"
    cmp -s <(journeyd completions "$shell") "$f" || fail "$f differs from journeyd completions $shell"
    echo "ok: $f"
done
bash -c "source ${completion[bash]} && complete -p journeyd" >/dev/null ||
    fail "the bash completion does not register for journeyd"

say "systemd unit"
unit=$(grep -E '/systemd/system/journeyd\.service$' "$tmp/files.txt") || fail "no journeyd.service in the package"
echo "$unit"
grep -q '^ExecStart=/usr/bin/journeyd run --config /etc/journeyd/journeyd.yaml$' "$unit" ||
    fail "$unit: ExecStart is not /usr/bin/journeyd run --config /etc/journeyd/journeyd.yaml"
out=$(systemd-analyze verify "$unit" 2>&1) || fail "systemd-analyze verify $unit: $out"
[ -z "$out" ] || fail "systemd-analyze verify $unit complained: $out"
echo "ok: systemd-analyze verify prints nothing"
# Installed, not enabled (the documented choice: Cargo.toml, docs/install.md).
[ ! -e /etc/systemd/system/multi-user.target.wants/journeyd.service ] || fail "the package enabled journeyd.service"
echo "ok: not enabled"

say "configuration: conffiles, admin token, journeyd check --config"
conffiles=$(dpkg-query -W -f='${Conffiles}\n' journeyd | awk 'NF { print $1 }')
grep -qx /etc/journeyd/journeyd.yaml <<<"$conffiles" || fail "/etc/journeyd/journeyd.yaml is not a conffile"
for j in journeys/*.yaml; do
    grep -qx "/etc/journeyd/journeys/$(basename "$j")" <<<"$conffiles" || fail "/etc/journeyd/$j is not a conffile"
done
token=/etc/journeyd/secrets/admin_token
[ "$(stat -c '%a %U' "$token")" = "600 root" ] || fail "$token: $(stat -c '%a %U' "$token"), want 600 root"
# As install.md says: the secrets reach the service as credentials.
CREDENTIALS_DIRECTORY=/etc/journeyd/secrets journeyd check --config /etc/journeyd/journeyd.yaml

say "upgrade: a local edit of a conffile and the admin token survive"
# The same files as revision 2 of this version: dpkg runs the upgrade path
# (prerm upgrade, postinst configure OLD-VERSION) and, the packaged conffile
# being unchanged, keeps the edited one without asking.
cp "$deb" "$tmp/"
cargo deb --no-build --locked --strip --fast --deb-revision 2 --output "$tmp/upgrade.deb" >/dev/null
# cargo-deb clears the other journeyd packages from target/debian: put back the checked one.
cp "$tmp/$(basename "$deb")" "$deb"
echo '# local edit' | $SUDO tee -a /etc/journeyd/journeyd.yaml >/dev/null
cp "$token" "$tmp/token"
$SUDO dpkg -i "$tmp/upgrade.deb" >/dev/null
[ "$(dpkg-query -W -f='${Version}' journeyd)" = "${version%-*}-2" ] || fail "the upgrade did not install revision 2"
grep -qx '# local edit' /etc/journeyd/journeyd.yaml || fail "the local edit of /etc/journeyd/journeyd.yaml was lost"
cmp -s "$token" "$tmp/token" || fail "the upgrade replaced the admin token"
echo "ok: ${version} -> ${version%-*}-2"

# ------------------------------------------------------------------------ purge
say "dpkg --purge journeyd leaves nothing behind"
$SUDO dpkg --purge journeyd
rm -f "$marker"
left=()
while read -r path; do
    # Directories shared with other packages (/usr/share/man/man1, ...) stay.
    if [ -d "$path" ] && [ ! -L "$path" ] && [[ "$path" != *journeyd* ]]; then
        continue
    fi
    if [ -e "$path" ] || [ -L "$path" ]; then
        left+=("$path")
    fi
done <"$tmp/files.txt"
for path in /etc/journeyd /var/lib/journeyd /var/lib/private/journeyd; do
    if [ -e "$path" ]; then
        left+=("$path")
    fi
done
[ ${#left[@]} -eq 0 ] || fail "left after purge: ${left[*]}"
if dpkg-query -W -f='${db:Status-Status}' journeyd 2>/dev/null | grep -qvx not-installed; then
    fail "dpkg still has journeyd after purge"
fi
echo "ok: $(wc -l <"$tmp/files.txt") packaged paths, /etc/journeyd and the state are gone"

say "package checks passed: $(basename "$deb")"
