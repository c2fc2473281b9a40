#!/usr/bin/env bash
# Static checks of deploy/ and its docs: journeys, the example configuration,
# the systemd unit (verify + sandbox score), the Prometheus configuration (and
# rules, once they exist), the Grafana dashboard, the Kubernetes manifests
# (kubernetes-validate from PyPI, installed into ~/.cache when missing).
# Extended as deploy/ grows.
# Needs: cargo, python3 (with venv), systemd-analyze, promtool, PostgreSQL for
# the fleet walkthrough (scripts/test.sh installs them).
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

# ------------------------------------------------------------------- Kubernetes
k8s=deploy/kubernetes
# A real validator from PyPI: kubernetes-validate bundles the Kubernetes
# OpenAPI schemas of every release (offline, no cluster), installed once into a
# venv in the user's cache. Pinned, so a new release cannot change the verdict.
KV_VERSION=1.37.0
KV_KUBERNETES=(1.28.0 1.37.0) # the oldest release we promise, and the newest it knows
kv_venv="${XDG_CACHE_HOME:-$HOME/.cache}/journeyd/kubernetes-validate-$KV_VERSION"
if ! "$kv_venv/bin/kubernetes-validate" --version >/dev/null 2>&1; then
    say "installing kubernetes-validate $KV_VERSION (PyPI) into $kv_venv"
    rm -rf "$kv_venv"
    python3 -m venv "$kv_venv" || fail "python3 -m venv failed (Debian: apt-get install python3-venv)"
    "$kv_venv/bin/pip" install --quiet --disable-pip-version-check "kubernetes-validate==$KV_VERSION" ||
        fail "cannot install kubernetes-validate from PyPI"
fi

# The resources kustomization.yaml applies; every manifest here must be one of
# them, or named below with why it is not.
mapfile -t k8s_resources < <("$kv_venv/bin/python" - "$k8s/kustomization.yaml" <<'PY'
import sys, yaml
k = yaml.safe_load(open(sys.argv[1]))
assert k["kind"] == "Kustomization", "not a Kustomization"
print("\n".join(k["resources"]))
PY
)
[ ${#k8s_resources[@]} -gt 3 ] || fail "$k8s/kustomization.yaml lists no resources"
# servicemonitor.yaml: a Prometheus Operator CRD, whose schema is not Kubernetes'
# (the validator only warns "no schema"); left out of the kustomization so a
# cluster without the Operator can apply it; checked against the Service below.
not_applied=(kustomization.yaml servicemonitor.yaml)
for f in "$k8s"/*.yaml; do
    name=$(basename "$f")
    printf '%s\n' "${k8s_resources[@]}" "${not_applied[@]}" | grep -qx "$name" ||
        fail "$f is neither in kustomization.yaml's resources nor a known exception"
done

for version in "${KV_KUBERNETES[@]}"; do
    say "kubernetes-validate --strict (Kubernetes $version): ${k8s_resources[*]}"
    out=$(cd "$k8s" && "$kv_venv/bin/kubernetes-validate" --strict -k "$version" "${k8s_resources[@]}" 2>&1) ||
        fail "$out"
    # An unknown kind is only a warning for the validator, an error for us.
    ! grep -E '^(WARN|ERROR)' <<<"$out" || fail "kubernetes-validate warned (above)"
    grep -c ' passed for resource ' <<<"$out" | sed 's/^/ok: resources passed: /'
done

say "$k8s: cross-checks (labels, ports, probes, grace period, the ServiceMonitor)"
mkdir -p "$tmp/k8s/journeys" "$tmp/k8s/secrets" "$tmp/k8s/state"
"$kv_venv/bin/python" - "$k8s" "$tmp/k8s" <<'PY'
import glob, os, re, sys, yaml
src, out = sys.argv[1:]
docs = {}
for f in glob.glob(f"{src}/*.yaml"):
    for d in yaml.safe_load_all(open(f)):
        if d and "kind" in d and d["kind"] != "Kustomization":
            docs[(d["kind"], d["metadata"]["name"])] = d
problems = []
def need(ok, msg):
    if not ok:
        problems.append(msg)
dep = docs[("Deployment", "journeyd")]
spec, pod = dep["spec"], dep["spec"]["template"]["spec"]
labels = dep["spec"]["template"]["metadata"]["labels"]
sel = lambda d: d["spec"]["selector"].get("matchLabels", d["spec"]["selector"])
need(spec["replicas"] >= 2, "Deployment: fewer than 2 replicas is no HA pair")
for kind, name in [("Deployment", "journeyd"), ("Service", "journeyd"), ("PodDisruptionBudget", "journeyd"), ("ServiceMonitor", "journeyd")]:
    need(sel(docs[(kind, name)]).items() <= labels.items(), f"{kind} {name}: selector does not match the pods")
pdb = docs[("PodDisruptionBudget", "journeyd")]["spec"]
need(pdb.get("minAvailable", 0) >= 1 and pdb["minAvailable"] < spec["replicas"], "PDB: minAvailable must be 1..replicas-1")
(c,) = pod["containers"]
ports = {p["name"]: p["containerPort"] for p in c["ports"]}
need(c["livenessProbe"]["httpGet"]["path"] == "/healthz", "liveness probe is not /healthz")
need(c["readinessProbe"]["httpGet"]["path"] == "/readyz", "readiness probe is not /readyz")
sc, psc = c["securityContext"], pod["securityContext"]
need(psc.get("runAsNonRoot") and sc.get("readOnlyRootFilesystem") and not sc.get("allowPrivilegeEscalation", True), "not non-root, read-only, no privilege escalation")
need("limits" in c.get("resources", {}) and "requests" in c["resources"], "no resources")
svc = docs[("Service", "journeyd")]["spec"]["ports"]
need(any(p["targetPort"] in ports for p in svc), "Service targetPort is no container port")
sm = docs[("ServiceMonitor", "journeyd")]["spec"]["endpoints"]
need(all(e["port"] in {p["name"] for p in svc} for e in sm), "ServiceMonitor port is no Service port")
# The embedded configuration: paths mounted from the ConfigMaps and the Secret.
mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
vols = {v["name"]: v for v in pod["volumes"]}
by_cm = {v["configMap"]["name"]: mounts[n] for n, v in vols.items() if "configMap" in v}
secret_dir = next(mounts[n] for n, v in vols.items() if "secret" in v)
conf_dir = by_cm["journeyd-config"]
need(c["args"][-1] == f"{conf_dir}/journeyd.yaml", f"args do not name {conf_dir}/journeyd.yaml")
config = docs[("ConfigMap", "journeyd-config")]["data"]["journeyd.yaml"]
parsed = yaml.safe_load(config)
need(parsed["journeys"] == [by_cm["journeyd-journeys"]], "journeys: is not the journeys ConfigMap's mount")
need(parsed["secrets_dir"] == secret_dir, "secrets_dir is not the Secret's mount")
need(mounts.get("state") == parsed["state_dir"], "state_dir is not the writable volume")
need(parsed["listen"].startswith("0.0.0.0:") and parsed["listen"].endswith(f":{ports['http']}"), "listen is not 0.0.0.0 on the http port")
need(parsed.get("store", {}).get("backend") == "postgres" and "location" in parsed.get("fleet", {}), "no store: postgres and fleet")
grace = re.fullmatch(r"(\d+)s", parsed["shutdown_grace"])
need(grace and pod["terminationGracePeriodSeconds"] > int(grace[1]) + 5, "terminationGracePeriodSeconds must exceed shutdown_grace by more than 5 s")
secrets = docs[("Secret", "journeyd-secrets")]["stringData"]
need(parsed["store"]["url_secret"] in secrets and parsed["admin_token_secret"] in secrets, "a secret the configuration names is not in the Secret")
# Write them out for `journeyd check`, paths pointed at the copies.
for k, v in secrets.items():
    open(f"{out}/secrets/{k}", "w").write(v)
journeys = docs[("ConfigMap", "journeyd-journeys")]["data"]
for k, v in journeys.items():
    open(f"{out}/journeys/{k}", "w").write(v)
    repo = f"journeys/{k}"
    need(os.path.exists(repo) and open(repo).read() == v, f"journeyd-journeys {k} differs from {repo}")
    for s in re.findall(r"secret\.([a-z_0-9]+)", v):
        need(s in secrets, f"journey {k} uses secret {s}, not in the Secret")
for old, new in [(by_cm["journeyd-journeys"], f"{out}/journeys"), (secret_dir, f"{out}/secrets"), (parsed["state_dir"], f"{out}/state")]:
    config = config.replace(old, new)
open(f"{out}/journeyd.yaml", "w").write(config)
if problems:
    sys.exit("\n".join(problems))
print(f"ok: {len(docs)} resources, {len(journeys)} journey(s)")
PY

say "$k8s: the ConfigMap's journeyd.yaml and journeys pass journeyd check (secrets: the Secret's)"
env -u CREDENTIALS_DIRECTORY -u STATE_DIRECTORY "$bin" check --config "$tmp/k8s/journeyd.yaml"

say "promtool check config $k8s/prometheus-scrape.yml (kubernetes_sd_configs checked apart)"
# Debian builds Prometheus without Kubernetes service discovery, so its promtool
# rejects the key: check the rest on a copy with a static target instead, and
# the discovery block here (role, the namespace kustomization.yaml sets).
"$kv_venv/bin/python" - "$k8s" "$tmp/k8s/prometheus-scrape.yml" <<'PY'
import sys, yaml
src, out = sys.argv[1:]
namespace = yaml.safe_load(open(f"{src}/kustomization.yaml"))["namespace"]
config = yaml.safe_load(open(f"{src}/prometheus-scrape.yml"))
(job,) = config["scrape_configs"]
(sd,) = job.pop("kubernetes_sd_configs")
if sd != {"role": "pod", "namespaces": {"names": [namespace]}}:
    sys.exit(f"kubernetes_sd_configs: expected role pod in namespace {namespace}, got {sd}")
job["static_configs"] = [{"targets": ["127.0.0.1:9750"]}]
yaml.safe_dump(config, open(out, "w"))
PY
promtool check config "$tmp/k8s/prometheus-scrape.yml"

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

# ------------------------------------------------------------ fleet walkthrough
say "scripts/fleet-demo.sh --check: docs/scaling.md's one-machine fleet (PostgreSQL, eu pair + us, kill -9)"
scripts/fleet-demo.sh --check >"$tmp/fleet-demo.log" 2>&1 || fail "fleet demo: $(tail -n 30 "$tmp/fleet-demo.log")"
grep '^ok: ' "$tmp/fleet-demo.log" | cut -c1-160

say "all deployment checks passed (systemd exposure level $score)"
