#!/usr/bin/env bash
# A fleet on one machine (docs/scaling.md, "Trying it on one machine"): a
# throw-away PostgreSQL in a temporary directory on a free port, the demo
# company (journeyd demo-target), an HA pair in location `eu` (eu-a, eu-b) and
# one replica in location `us` (us-a), each a `journeyd run` with its own
# port, state directory and fleet.replica id, all running the shipped
# journeys (every 15 s). Prints the status pages and the fleet page, then runs until
# Ctrl-C, which stops everything and deletes the directory.
#
#   scripts/fleet-demo.sh           start, print the URLs, wait for Ctrl-C
#   scripts/fleet-demo.sh --check   start, check that the fleet page shows the
#                                   three replicas alive and every journey
#                                   owned in both locations, that us-a's runs
#                                   pass against the demo, kill -9 eu-b and
#                                   check that eu-a takes its journeys, and
#                                   (from the runs table) that no slot ran
#                                   twice and none was lost beyond the
#                                   takeover; stop;
#                                   exit 0 (or 1, saying what was seen)
#
# PostgreSQL comes from Debian's `postgresql` package (installed when missing
# and run as root; otherwise it asks you to install it). As root, PostgreSQL
# runs as the `postgres` user (it refuses root).
set -euo pipefail
cd "$(dirname "$0")/.."

check=false
case "${1:-}" in
--check) check=true ;;
"") ;;
*)
    echo "usage: $0 [--check]" >&2
    exit 2
    ;;
esac

# Short leases so that kill -9 shows quickly; production keeps the default 30s.
LEASE_TTL=6
# How long --check waits for each state, seconds.
CHECK_WITHIN=60
REPLICAS=(eu:eu-a eu:eu-b us:us-a)

say() { printf '\n--> %s\n' "$*"; }
fail() {
    printf 'FAIL: %s\n' "$*" >&2
    exit 1
}
is_root() { [ "$(id -u)" -eq 0 ]; }

# ------------------------------------------------------------------ PostgreSQL
pg_bin() { compgen -G '/usr/lib/postgresql/*/bin/initdb' | sort -V | tail -n 1 | xargs -r dirname; }
if [ -z "$(pg_bin)" ]; then
    if ! is_root; then
        echo "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb)." >&2
        echo "Install Debian's package first: sudo apt-get install postgresql" >&2
        exit 2
    fi
    say "installing Debian's postgresql"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi
pg=$(pg_bin)
as_postgres() { if is_root; then runuser -u postgres -- "$@"; else "$@"; fi; }

say "building journeyd"
cargo build --quiet --locked
target_dir=$(cargo metadata --format-version 1 --no-deps --locked |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
bin="$target_dir/debug/journeyd"
[ -x "$bin" ] || fail "no binary at $bin"

tmp=$(mktemp -d -t journeyd-fleet-demo.XXXXXX)
pids=()
stop_all() {
    trap - EXIT INT TERM
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    if [ -f "$tmp/pg/postmaster.pid" ]; then
        as_postgres "$pg/pg_ctl" -D "$tmp/pg" -m fast -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$tmp"
}
trap stop_all EXIT
trap 'echo; echo "stopping"; exit 0' INT TERM

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

say "PostgreSQL in $tmp/pg"
is_root && chown postgres:postgres "$tmp"
as_postgres "$pg/initdb" -D "$tmp/pg" -U postgres --auth=trust -E UTF8 --no-sync --no-instructions >"$tmp/initdb.log" ||
    fail "initdb failed: $(cat "$tmp/initdb.log")"
pg_port=$(free_port)
as_postgres "$pg/pg_ctl" -D "$tmp/pg" -l "$tmp/pg/postgres.log" -w -t 60 \
    -o "-p $pg_port -k $tmp -c listen_addresses=127.0.0.1" start >/dev/null ||
    fail "PostgreSQL did not start: $(cat "$tmp/pg/postgres.log")"
pg_url="postgres://postgres@127.0.0.1:$pg_port/postgres"
echo "ok: $pg_url"

# Everything below writes here; PostgreSQL's own directory stays its own.
work="$tmp/work"
mkdir -p "$work"

# Waits (at most $2 seconds) for the "journeyd started." JSON line in log $1,
# then prints the address it listens on.
listen_of() {
    python3 - "$1" "$2" <<'PY'
import json, sys, time
path, within = sys.argv[1], float(sys.argv[2])
deadline = time.monotonic() + within
while time.monotonic() < deadline:
    for line in open(path, errors="replace"):
        try:
            v = json.loads(line)
        except ValueError:
            continue
        if v.get("fields", {}).get("message") == "journeyd started.":
            print(v["fields"]["listen"])
            sys.exit(0)
    time.sleep(0.2)
sys.exit(f"no start line in {path} within {within}s:\n" + open(path, errors="replace").read()[-3000:])
PY
}

say "the demo company"
shop_port=$(free_port)
"$bin" demo-target --listen "127.0.0.1:$shop_port" >"$work/demo-target.log" 2>&1 &
pids+=($!)
shop="http://127.0.0.1:$shop_port"
echo "ok: $shop"

# The shipped journeys, every 15 s instead of every 30 to 60 s: in a fleet a
# journey's first run waits for its slot on the fleet's grid (first_run_within
# does not apply), and a demo should show runs and takeovers quickly.
mkdir -p "$work/journeys"
for f in journeys/*.yaml; do
    sed 's/^interval: .*/interval: 15s/' "$f" >"$work/journeys/$(basename "$f")"
done
grep -q '^interval: 15s' "$work"/journeys/*.yaml || fail "no interval: line in journeys/"

declare -A base
for entry in "${REPLICAS[@]}"; do
    location=${entry%%:*} id=${entry#*:}
    dir="$work/$id"
    mkdir -p "$dir"
    cat >"$dir/journeyd.yaml" <<EOF
listen: 127.0.0.1:0
journeys: [$work/journeys]
state_dir: state
secrets_dir: $PWD/deploy/demo/secrets
admin_token_secret: admin_token
shutdown_grace: 10s
store: { backend: postgres, url_secret: pg_url }
fleet: { location: $location, replica: $id, lease_ttl: ${LEASE_TTL}s }
EOF
    JOURNEYD_SECRET_PG_URL="$pg_url" SHOP_URL="$shop" APP_URL="$shop" CONTRACTS_URL="$shop" \
        "$bin" --log-format json run --config "$dir/journeyd.yaml" >"$dir/journeyd.log" 2>&1 &
    pids+=($!)
    eval "pid_${id//-/_}=$!"
done
for entry in "${REPLICAS[@]}"; do
    id=${entry#*:}
    base[$id]="http://$(listen_of "$work/$id/journeyd.log" 60)" || fail "$id did not start"
done

cat <<EOF

journeyd fleet demo (PostgreSQL $pg_url, lease_ttl ${LEASE_TTL}s)
  demo company          $shop
  eu-a status page      ${base[eu-a]}/
  eu-b status page      ${base[eu-b]}/
  us-a status page      ${base[us-a]}/
  fleet page            ${base[eu-a]}/fleet   (JSON: ${base[eu-a]}/api/fleet)
  logs                  $work/*/journeyd.log

Each location runs every journey; in eu each journey runs on eu-a or eu-b.
kill -9 one eu replica (pid eu-a $pid_eu_a, eu-b $pid_eu_b) and watch the fleet page
of the other: its journeys move within ${LEASE_TTL}s plus their next slot.
EOF

# Polls /api/fleet at $1 until every lease of every location in $2 (loc=n
# replicas, ...) is owned by its live replicas, at most $CHECK_WITHIN s.
fleet_settled() {
    python3 - "$1/api/fleet" "$2" "$CHECK_WITHIN" <<'PY'
import json, sys, time, urllib.request
url, want, within = sys.argv[1], dict(w.split("=") for w in sys.argv[2].split(",")), float(sys.argv[3])
deadline, seen = time.monotonic() + within, "nothing"
while time.monotonic() < deadline:
    try:
        v = json.load(urllib.request.urlopen(url, timeout=5))
        alive = {}
        for r in v["replicas"]:
            if r["alive"]:
                alive.setdefault(r["location"], set()).add(r["id"])
        owners = {(l["location"], l["journey"]): l["owner"] for l in v["leases"]}
        journeys = {j for _, j in owners}
        ok = (
            {loc: len(ids) for loc, ids in alive.items()} == {loc: int(n) for loc, n in want.items()}
            and len(owners) == len(want) * len(journeys) > 0
            and all(o in alive.get(loc, ()) for (loc, _), o in owners.items())
        )
        seen = f"alive {alive}, owners {owners}"
        if ok:
            print(f"ok: {seen}")
            sys.exit(0)
    except Exception as e:  # not up yet, or the database is busy: ask again
        seen = repr(e)
    time.sleep(0.5)
sys.exit(f"not settled within {within}s; last seen: {seen}")
PY
}

if ! $check; then
    echo
    echo "Stop everything with Ctrl-C."
    wait "${pids[0]}"
    exit 0
fi

say "check: the fleet page shows 3 replicas alive and every journey owned in eu and us"
fleet_settled "${base[eu-a]}" "eu=2,us=1" || fail "see $work/*/journeyd.log"
page=$(python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' "${base[eu-b]}/fleet")
[ "$(grep -o '>alive<' <<<"$page" | wc -l)" -eq 3 ] || fail "the fleet page does not show 3 replicas alive"
echo "ok: ${base[eu-b]}/fleet shows 3 replicas alive"

say "check: us-a ran every journey against the demo company, and each passed"
python3 - "${base[us-a]}/api/journeys" "$CHECK_WITHIN" <<'PY' || fail "see $work/us-a/journeyd.log"
import json, sys, time, urllib.request
url, within = sys.argv[1], float(sys.argv[2])
deadline, seen = time.monotonic() + within, "nothing"
while time.monotonic() < deadline:
    try:
        states = {j["name"]: j["state"] for j in json.load(urllib.request.urlopen(url, timeout=5))}
        seen = str(states)
        if states and all(s == "passing" for s in states.values()):
            print(f"ok: {seen}")
            sys.exit(0)
    except Exception as e:  # busy: ask again
        seen = repr(e)
    time.sleep(0.5)
sys.exit(f"not every journey passed within {within}s; last seen: {seen}")
PY

say "check: kill -9 eu-b; eu-a takes its journeys"
killed_ms=$(python3 -c 'import time; print(int(time.time() * 1000))')
kill -KILL "$pid_eu_b"
wait "$pid_eu_b" 2>/dev/null || true
fleet_settled "${base[eu-a]}" "eu=1,us=1" || fail "eu-a did not take over"

say "check: in eu, every journey ran again on eu-a; no slot ran twice, none lost beyond the takeover"
# From the shared run history: consecutive runs of a journey in one location
# are a slot apart (15 s); twice in one slot would be closer than half of it;
# the takeover may cost the slot being run at the kill and one more (the
# lease TTL is shorter than a slot), so never more than 3 slots apart.
python3 - "$pg/psql" "$pg_url" "$killed_ms" "$CHECK_WITHIN" <<'PY' || fail "see $work/*/journeyd.log"
import subprocess, sys, time
psql, url, killed_ms, within = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
slot_ms = 15_000
deadline, seen = time.monotonic() + within, "nothing"
while True:
    out = subprocess.run([psql, url, "-AtF", " ", "-c",
        "SELECT journey, replica, started_at, verdict FROM runs WHERE location = 'eu' ORDER BY journey, started_at"],
        capture_output=True, text=True, check=True).stdout
    runs = {}
    for line in out.splitlines():
        journey, replica, at, verdict = line.split(" ")
        runs.setdefault(journey, []).append((int(at), replica, verdict))
    after = {j: [r for at, r, _ in rs if at > killed_ms] for j, rs in runs.items()}
    if runs and all("eu-a" in rs for rs in after.values()):
        break
    seen = f"runs after the kill: {after}"
    if time.monotonic() > deadline:
        sys.exit(f"not every eu journey ran on eu-a within {within}s after the kill; {seen}")
    time.sleep(0.5)
problems, worst = [], 0
for journey, rs in runs.items():
    for (a, ra, va), (b, rb, _) in zip(rs, rs[1:]):
        gap = b - a
        worst = max(worst, gap)
        # A failed run is confirmed by a re-run 2 s later (alerting.policy.confirm).
        if gap < slot_ms / 2 and va != "fail":
            problems.append(f"{journey}: runs {gap} ms apart ({ra}, then {rb}): one slot ran twice")
        if gap > 3 * slot_ms + 2_000:
            problems.append(f"{journey}: runs {gap} ms apart ({ra}, then {rb}): slots lost")
if problems:
    sys.exit("\n".join(problems))
print(f"ok: {sum(map(len, runs.values()))} runs of {len(runs)} journeys in eu; longest gap {worst / 1000:.1f} s (slot {slot_ms / 1000:.0f} s)")
PY

say "fleet demo check passed"
