#!/usr/bin/env bash
# Static checks of deploy/ and its docs: journeys, the example configuration,
# the systemd unit (verify + sandbox score), the Prometheus configuration (and
# rules, once they exist), the Grafana dashboard. Extended as deploy/ grows.
# Needs: cargo, python3, systemd-analyze, promtool (scripts/test.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."

# The sandbox score the unit must keep (systemd-analyze security: 0 best, 10 worst).
MAX_EXPOSURE=2.0

say() { printf '\n--> %s\n' "$*"; }
fail() {
    printf 'FAIL: %s\n' "$*" >&2
    exit 1
}
missing_tools=()
for tool in cargo python3 systemd-analyze promtool; do
    command -v "$tool" >/dev/null 2>&1 || missing_tools+=("$tool")
done
[ ${#missing_tools[@]} -eq 0 ] || fail "missing tools: ${missing_tools[*]} (scripts/test.sh installs them)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

say "journeys/ are valid"
cargo run --quiet --locked -- check journeys/

say "building journeyd (debug) for the checks below"
cargo build --quiet --locked
target_dir=$(cargo metadata --format-version 1 --no-deps --locked |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
bin="$target_dir/debug/journeyd"
[ -x "$bin" ] || fail "no binary at $bin"
echo "ok: $bin"

# ---------------------------------------------------------------- configuration
# Every key of the configuration file (the serde fields of src/config/raw.rs).
mapfile -t config_keys < <(sed -n 's/^ *pub \([a-z_]*\): .*/\1/p' src/config/raw.rs | sort -u)
[ ${#config_keys[@]} -gt 5 ] || fail "could not read the configuration keys from src/config/raw.rs"

say "deploy/journeyd.yaml and docs/configuration.md name every key (${#config_keys[@]} keys)"
missing=()
for k in "${config_keys[@]}"; do
    # Nested keys are documented under their section (`#   step_detail:`, `metrics.step_detail`).
    grep -Eq "^ *(# *)?$k:" deploy/journeyd.yaml || missing+=("deploy/journeyd.yaml: $k")
    grep -Eq "\`([a-z_]+\.)?$k\`" docs/configuration.md || missing+=("docs/configuration.md: \`$k\`")
done
[ ${#missing[@]} -eq 0 ] || fail "keys not documented: ${missing[*]}"
echo "ok: ${config_keys[*]}"

# The example names /etc paths and a credential from systemd; validate a copy
# whose journeys are the repository's and whose admin token comes from the env.
check_config() {
    env -u CREDENTIALS_DIRECTORY -u STATE_DIRECTORY JOURNEYD_SECRET_ADMIN_TOKEN=x \
        JOURNEYD_SECRET_PG_URL=postgres://journeyd@127.0.0.1:5432/journeyd \
        "$bin" check --config "$1"
}
mkdir -p "$tmp/config"
ln -s "$PWD/journeys" "$tmp/config/journeys"
sed "s#/etc/journeyd/journeys#$PWD/journeys#" deploy/journeyd.yaml >"$tmp/config/journeyd.yaml"

say "deploy/journeyd.yaml is valid (journeys: the repository's; admin token: JOURNEYD_SECRET_ADMIN_TOKEN)"
check_config "$tmp/config/journeyd.yaml"

say "deploy/journeyd.yaml is still valid with its commented-out keys enabled"
# `# key: value` lines, and `# key:` followed by an indented `#   ...` block.
python3 - "$tmp/config/journeyd.yaml" "${config_keys[@]}" >"$tmp/config/all-keys.yaml" <<'PY'
import re, sys
path, keys = sys.argv[1], set(sys.argv[2:])
in_block = False
for line in open(path).read().splitlines():
    m = re.match(r"# ([a-z_]+):(.*)$", line)
    if m and m[1] in keys:
        line, in_block = line[2:], not m[2].strip()
    elif in_block and line.startswith("#   "):
        line = line[2:]
    else:
        in_block = False
    print(line)
PY
check_config "$tmp/config/all-keys.yaml"

say "docs/configuration.md: every yaml example is a valid configuration copied from deploy/journeyd.yaml"
python3 - docs/configuration.md deploy/journeyd.yaml "$tmp/config" <<'PY'
import re, sys
doc, example, out = sys.argv[1:]
text = open(doc).read()
# Lines of the example, commented-out ones too, without indentation.
source = set()
for line in open(example).read().splitlines():
    line = line.strip()
    source.add(line)
    if line.startswith("# "):
        source.add(line[2:].strip())
blocks = re.findall(r"^```yaml\n(.*?)^```", text, re.S | re.M)
if not blocks:
    sys.exit(f"{doc}: no ```yaml examples found")
for i, block in enumerate(blocks):
    for line in block.splitlines():
        code = line.split(" #")[0].rstrip() if not line.lstrip().startswith("#") else ""
        if code.strip() and code.strip() not in source:
            sys.exit(f"{doc}: example {i + 1}: `{code.strip()}` is not in {example}")
    open(f"{out}/doc-example-{i + 1}.yaml", "w").write(block)
print(f"ok: {len(blocks)} examples")
PY
for f in "$tmp"/config/doc-example-*.yaml; do
    sed -i "s#/etc/journeyd/journeys#$PWD/journeys#" "$f"
    check_config "$f" >/dev/null || fail "docs/configuration.md example $(basename "$f" .yaml) is invalid"
done
echo "ok: every example passes journeyd check --config"

# ---------------------------------------------------------------------- systemd
unit=deploy/systemd/journeyd.service
# systemd-analyze verify checks that ExecStart's binary exists: use the one just built.
mkdir -p "$tmp/systemd"
sed "s#^ExecStart=/usr/local/bin/journeyd #ExecStart=$bin #" "$unit" >"$tmp/systemd/journeyd.service"
grep -q "^ExecStart=$bin " "$tmp/systemd/journeyd.service" || fail "$unit: ExecStart is not /usr/local/bin/journeyd ..."

say "systemd-analyze verify $unit prints nothing"
out=$(systemd-analyze verify "$tmp/systemd/journeyd.service" 2>&1) || fail "systemd-analyze verify failed: $out"
[ -z "$out" ] || fail "systemd-analyze verify complained: $out"
echo "ok"

say "systemd-analyze security: $unit exposure at most $MAX_EXPOSURE"
security=$(systemd-analyze security --offline=true --no-pager "$tmp/systemd/journeyd.service" 2>&1) || true
score=$(sed -n 's/.*Overall exposure level for journeyd.service: \([0-9.]*\).*/\1/p' <<<"$security")
[ -n "$score" ] || fail "no exposure level in: $security"
echo "exposure level: $score"
python3 -c "import sys; sys.exit(float('$score') > float('$MAX_EXPOSURE'))" ||
    fail "exposure $score > $MAX_EXPOSURE; what is open: $(grep '✗' <<<"$security")"

say "$unit: TimeoutStopSec is longer than deploy/journeyd.yaml's shutdown_grace"
seconds() { # 45s, 2min, 1m, 90 -> seconds
    python3 -c '
import re, sys
m = re.fullmatch(r"(\d+)\s*(s|sec|m|min|)", sys.argv[1].strip())
if not m: sys.exit(f"cannot read duration {sys.argv[1]!r}")
print(int(m[1]) * (60 if m[2] in ("m", "min") else 1))' "$1"
}
stop=$(sed -n 's/^TimeoutStopSec=//p' "$unit")
grace=$(sed -n 's/^shutdown_grace: *//p' deploy/journeyd.yaml)
[ -n "$stop" ] && [ -n "$grace" ] || fail "TimeoutStopSec or shutdown_grace not set"
[ "$(seconds "$stop")" -gt "$(seconds "$grace")" ] || fail "TimeoutStopSec=$stop must exceed shutdown_grace $grace"
echo "ok: TimeoutStopSec=$stop > shutdown_grace $grace"

say "$unit: LoadCredential= hands over deploy/journeyd.yaml's admin_token_secret"
admin=$(sed -n 's/^admin_token_secret: *//p' deploy/journeyd.yaml)
grep -q "^LoadCredential=$admin:" "$unit" || fail "no LoadCredential=$admin:... in $unit"
echo "ok: LoadCredential=$admin"

# ------------------------------------------------------------------- Prometheus
say "promtool check config deploy/prometheus/prometheus.yml"
promtool check config deploy/prometheus/prometheus.yml

say "promtool check rules deploy/prometheus/journeyd-rules.yml"
promtool check rules deploy/prometheus/journeyd-rules.yml

say "promtool test rules deploy/prometheus/journeyd-rules.test.yml"
(cd deploy/prometheus && promtool test rules journeyd-rules.test.yml)

# ---------------------------------------------------------------------- Grafana
dashboard=deploy/grafana/journeyd-dashboard.json
say "$dashboard is valid JSON"
python3 -m json.tool "$dashboard" >/dev/null
echo "ok"

say "metric names in deploy/ and the docs exist in src/metrics"
allowed=$(grep -rho 'journeyd_[a-z_]*' src/metrics | sort -u)
unknown=()
# Recording rules (level:metric:operations, with colons) are not metrics of journeyd,
# nor are Debian package names (journeyd_0.1.0-1_amd64.deb, journeyd_*.deb).
for m in $(grep -rhoE '[a-z_:]*journeyd_[a-z0-9_:]*' "$dashboard" deploy/prometheus \
    deploy/journeyd.yaml deploy/systemd docs/configuration.md docs/install.md |
    grep -v -e : -e '_$' -e '^journeyd_[0-9]' | sort -u); do
    base=$(sed -E 's/_(bucket|sum|count)$//' <<<"$m")
    grep -qx -e "$m" -e "$base" <<<"$allowed" || unknown+=("$m")
done
[ ${#unknown[@]} -eq 0 ] || fail "metrics not defined in src/metrics: ${unknown[*]}"
echo "ok"

say "every dashboard query is valid PromQL (promtool check rules, variables substituted)"
python3 - "$dashboard" "$tmp/dashboard-rules.yml" <<'PY'
import json, re, sys
dashboard, out = sys.argv[1:]
d = json.load(open(dashboard))
subs = {"$journey": ".*", "$team": ".*", "$channel": ".*", "$window": "10m", "$__range": "1h", "$__rate_interval": "1m", "$__interval": "1m"}
def panels(ps):
    for p in ps:
        yield p
        yield from panels(p.get("panels", []))
rules, problems = [], []
for p in panels(d["panels"]):
    for t in p.get("targets", []):
        if t.get("datasource", {}).get("uid") != "${DS_PROMETHEUS}":
            problems.append(f"panel {p['title']!r} {t['refId']}: datasource is not ${{DS_PROMETHEUS}}")
        expr = t["expr"]
        for k, v in subs.items():
            expr = expr.replace(k, v)
        if "$" in expr:
            problems.append(f"panel {p['title']!r} {t['refId']}: unknown variable in {t['expr']}")
        rules.append({"record": f"dashboard:query_{len(rules)}", "expr": expr})
names = {v["name"] for v in d["templating"]["list"]}
for want in ("DS_PROMETHEUS", "journey", "team", "channel"):
    if want not in names:
        problems.append(f"no ${want} variable")
if problems:
    sys.exit("\n".join(problems))
# JSON is YAML: promtool reads this as a rules file.
json.dump({"groups": [{"name": "dashboard", "rules": rules}]}, open(out, "w"))
print(f"{len(rules)} queries")
PY
promtool check rules "$tmp/dashboard-rules.yml"

# ------------------------------------------------------------------ Alertmanager
am=deploy/alertmanager/alertmanager.yml
say "amtool check-config $am"
amtool check-config "$am" >/dev/null
echo "ok"

say "$am routes every team of journeys/ to that team's receivers"
for team in $(sed -n 's/^labels:.*team: *\([a-z0-9_-]*\).*/\1/p' journeys/*.yaml | sort -u); do
    for severity in critical warning; do
        got=$(amtool config routes test --config.file="$am" \
            alertname=JourneyFailing "team=$team" "severity=$severity" 2>/dev/null)
        case "$got" in
        "$team"-*) ;;
        *) fail "team=$team severity=$severity goes to '$got', not a $team-* receiver" ;;
        esac
    done
done
echo "ok"

say "all deployment checks passed (systemd exposure level $score)"
