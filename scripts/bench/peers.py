#!/usr/bin/env python3
"""Side by side on one local nginx target: Hurl, blackbox_exporter and `journeyd run`.

The target is Debian's nginx on 127.0.0.1 (a free port), answering a five-step shop with
static JSON (`return` directives, so POSTs work too). Its access log records nginx's
connection serial number, so the report shows how many connections each tool opened.

- Hurl: `hurl --test --repeat N` on a five-step file with captures and JSON asserts.
- journeyd: `journeyd run` with N journeys of the same five steps (captures, JSON
  predicates, one new connection pool per run), each run once: interval 1 h,
  `first_run_within` spreads the first runs over a short window. CPU from "started" to
  the moment /metrics counts N runs.
- blackbox_exporter: its `/probe` endpoint with an `http` module, N times, one request
  per probe. CPU per request is the exporter's CPU over the probes it served.

Every figure comes from /proc (utime+stime, VmHWM) or wait4's rusage of the child; ratios
are taken between figures of this one invocation, so load from elsewhere affects all sides.
One round moves by 10 % or more on a 2-vCPU machine: `--repeat N` measures N rounds, the
sides alternating, and prints every round's figures and their medians.
"""

import argparse
import http.client
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import common
from common import log

STEPS = 5

NGINX = """\
worker_processes 1;
daemon off;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
  log_format conn '$connection $connection_requests $request_method $uri $status';
  access_log {work}/access.log conn;
  client_body_temp_path {work}/tmp;
  proxy_temp_path {work}/tmp;
  fastcgi_temp_path {work}/tmp;
  uwsgi_temp_path {work}/tmp;
  scgi_temp_path {work}/tmp;
  default_type application/json;
  server {{
    listen 127.0.0.1:{port};
    location = /api/products {{
      return 200 '{{"items":[{{"id":"p-42","name":"mug","currency":"EUR","price":12.5}}]}}';
    }}
    location = /api/products/p-42 {{
      return 200 '{{"id":"p-42","name":"mug","currency":"EUR","price":12.5,"stock":7}}';
    }}
    location = /api/orders {{
      add_header x-request-id req-1001 always;
      return 201 '{{"order_id":"o-1001","status":"accepted","total":12.5}}';
    }}
    location = /api/orders/o-1001 {{
      return 200 '{{"order_id":"o-1001","status":"accepted","items":[{{"id":"p-42"}}]}}';
    }}
    location = /api/orders/o-1001/confirm {{
      return 200 '{{"order_id":"o-1001","status":"confirmed"}}';
    }}
  }}
}}
"""

HURL = """\
GET {base}/api/products
HTTP 200
[Captures]
product_id: jsonpath "$.items[0].id"
[Asserts]
jsonpath "$.items" count > 0
jsonpath "$.items[0].currency" == "EUR"

GET {base}/api/products/{{{{product_id}}}}
HTTP 200
[Asserts]
jsonpath "$.stock" > 0
jsonpath "$.name" isString

POST {base}/api/orders
{{"product_id": "{{{{product_id}}}}", "quantity": 1}}
HTTP 201
[Captures]
order_id: jsonpath "$.order_id"
request_id: header "x-request-id"
[Asserts]
jsonpath "$.status" == "accepted"

GET {base}/api/orders/{{{{order_id}}}}
HTTP 200
[Asserts]
jsonpath "$.order_id" == "{{{{order_id}}}}"
jsonpath "$.items" count == 1

POST {base}/api/orders/{{{{order_id}}}}/confirm
HTTP 200
[Asserts]
jsonpath "$.status" matches "^confirmed$"
"""

JOURNEY = """\
name: {name}
interval: 1h
vars:
  base: "{base}"
steps:
  - name: list products
    request: {{ url: "{{{{ base }}}}/api/products" }}
    expect:
      status: 200
      json: {{ "$.items": {{ len_gt: 0 }}, "$.items[0].currency": EUR }}
    capture: {{ product_id: {{ json: "$.items[0].id" }} }}
  - name: product
    request: {{ url: "{{{{ base }}}}/api/products/{{{{ product_id }}}}" }}
    expect:
      status: 200
      json: {{ "$.stock": {{ gt: 0 }}, "$.name": {{ type: string }} }}
  - name: place order
    request:
      method: POST
      url: "{{{{ base }}}}/api/orders"
      json: {{ product_id: "{{{{ product_id }}}}", quantity: 1 }}
    expect: {{ status: 201, json: {{ "$.status": accepted }} }}
    capture:
      order_id: {{ json: "$.order_id" }}
      request_id: {{ header: x-request-id }}
  - name: order
    request: {{ url: "{{{{ base }}}}/api/orders/{{{{ order_id }}}}" }}
    expect:
      status: 200
      json: {{ "$.order_id": {{ eq: "{{{{ order_id }}}}" }}, "$.items": {{ len_gt: 0 }} }}
  - name: confirm
    request: {{ method: POST, url: "{{{{ base }}}}/api/orders/{{{{ order_id }}}}/confirm" }}
    expect: {{ status: 200, json: {{ "$.status": {{ matches: "^confirmed$" }} }} }}
"""

CONFIG = """\
listen: 127.0.0.1:0
journeys: [{journeys}]
state_dir: {state}
concurrency: {concurrency}
first_run_within: {within}s
"""

BLACKBOX = """\
modules:
  http_2xx:
    prober: http
    timeout: 5s
    http:
      preferred_ip_protocol: ip4
      valid_status_codes: [200]
"""


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--bin", required=True, help="the release journeyd binary")
    p.add_argument("--runs", type=int, default=1000, help="runs per tool (100..10000)")
    p.add_argument("--within", type=int, default=20, help="journeyd first_run_within, s")
    p.add_argument("--concurrency", type=int, default=8, help="journeyd concurrency")
    p.add_argument("--max-seconds", type=int, default=240, help="limit of each side, s")
    p.add_argument("--only", default="hurl,journeyd,blackbox",
                   help="comma-separated sides to measure (hurl, journeyd, blackbox)")
    p.add_argument("--repeat", type=int, default=1,
                   help="rounds of all sides, alternating; prints each and the medians")
    p.add_argument("--perf", metavar="FILE",
                   help="record journeyd's runs with `perf record -g` into FILE")
    a = p.parse_args()
    if not 100 <= a.runs <= 10000 or not 1 <= a.within <= 600 or not 1 <= a.repeat <= 20:
        p.error("--runs 100..10000, --within 1..600, --repeat 1..20")
    return a


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exited with {proc.returncode} before listening on {port}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port} after {timeout}s")


def connections(work):
    """(requests, distinct connections) in nginx's access log so far; the log is then
    emptied so the next tool starts from zero."""
    path = os.path.join(work, "access.log")
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return 0, 0
    open(path, "w").close()
    conns = {line.split()[0] for line in lines if line}
    return len(lines), len(conns)


def start_nginx(work):
    os.makedirs(os.path.join(work, "tmp"), exist_ok=True)
    port = free_port()
    conf = os.path.join(work, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX.format(work=work, port=port))
    proc = common.start(["nginx", "-c", conf, "-p", work], os.path.join(work, "nginx.log"))
    wait_port(port, proc)
    return proc, f"http://127.0.0.1:{port}"


def against_nginx(prefix, body):
    """body(work, base) with nginx serving the shop from a fresh temporary directory;
    every child is stopped and the directory removed afterwards, also on SIGTERM."""
    common.exit_on_sigterm()
    work = tempfile.mkdtemp(prefix=prefix)
    try:
        _, base = start_nginx(work)
        log(f"nginx at {base}")
        return body(work, base)
    finally:
        common.stop_all()
        shutil.rmtree(work, ignore_errors=True)


def hurl_binary():
    for path in (shutil.which("hurl"), os.path.expanduser("~/.cargo/bin/hurl")):
        if path and os.access(path, os.X_OK):
            return path
    return None


def measure_hurl(a, work, base):
    binary = hurl_binary()
    if binary is None:
        return {"skipped": "hurl not installed (scripts/bench-peers.sh tries `cargo install hurl --locked`)"}
    path = os.path.join(work, "shop.hurl")
    with open(path, "w") as f:
        f.write(HURL.format(base=base))
    version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout
    t0 = time.monotonic()
    out = open(os.path.join(work, "hurl.log"), "wb")
    proc = subprocess.Popen([binary, "--test", "--repeat", str(a.runs), path], stdout=out,
                            stderr=subprocess.STDOUT)
    # wait4 gives this child's own CPU and peak RSS (RUSAGE_CHILDREN would also count
    # a journeyd daemon reaped in an earlier round).
    timer = threading.Timer(a.max_seconds, proc.kill)
    timer.start()
    _, status, usage = os.wait4(proc.pid, 0)
    timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"hurl failed ({proc.returncode}):\n{common.tail(out.name)}")
    sys_cpu = usage.ru_stime
    cpu = usage.ru_utime + sys_cpu
    requests, conns = connections(work)
    return {"name": "Hurl " + version.split("\n")[0].split()[1] if version else "Hurl",
            "runs": a.runs, "requests": requests, "connections": conns, "cpu": cpu,
            "sys": sys_cpu, "wall": wall, "peak_kib": usage.ru_maxrss, "series": 0}


def measure_journeyd(a, work, base):
    journeys = os.path.join(work, "journeys")
    # A fresh history, journeys and log each round (--repeat): the start-up line of an
    # earlier round's log would name that daemon's port.
    for old in (journeys, os.path.join(work, "state")):
        shutil.rmtree(old, ignore_errors=True)
    if os.path.exists(os.path.join(work, "journeyd.log")):
        os.remove(os.path.join(work, "journeyd.log"))
    os.makedirs(journeys)
    for i in range(1, a.runs + 1):
        with open(os.path.join(journeys, f"shop-{i:05d}.yaml"), "w") as f:
            f.write(JOURNEY.format(name=f"shop-{i:05d}", base=base))
    config = os.path.join(work, "journeyd.yaml")
    with open(config, "w") as f:
        f.write(CONFIG.format(journeys=journeys, state=os.path.join(work, "state"),
                              concurrency=a.concurrency, within=a.within))
    env = dict(os.environ, NO_COLOR="1", RUST_LOG="warn,journeyd=info")
    daemon, url, _ = common.start_daemon(a.bin, config, work, env)
    perf = None
    if a.perf:
        perf = subprocess.Popen(["perf", "record", "--call-graph", os.environ.get("PERF_CALLGRAPH", "fp"), "-q", "-o", a.perf, "-p", str(daemon.pid)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ready_cpu, ready_kib = common.cpu_split(daemon.pid), common.status_kib(daemon.pid, "VmRSS")
    t0 = time.monotonic()
    runs, polls = 0, 0
    # Not all runs can be done before the last first-run slot (`within`): polls are
    # full scrapes, taken out below by their measured cost, so fewer is more exact.
    time.sleep(max(0.0, a.within - 1.0))
    while time.monotonic() - t0 < a.max_seconds:
        time.sleep(0.5)
        runs, polls = run_count(url), polls + 1
        if runs >= a.runs:
            break
    end_cpu = common.cpu_split(daemon.pid)
    cpu = sum(end_cpu) - sum(ready_cpu)
    sys_cpu = end_cpu[1] - ready_cpu[1]
    wall = time.monotonic() - t0
    if perf is not None:
        perf.send_signal(signal.SIGINT)
        perf.wait(timeout=60)
    peak = common.status_kib(daemon.pid, "VmHWM")
    # The polls are full scrapes: measure one (all runs done, nothing else going on)
    # and take them out, so the figure is the runs' cost.
    # Twenty, as /proc counts CPU in 10 ms ticks.
    c0 = common.cpu_seconds(daemon.pid)
    for _ in range(20):
        run_count(url)
    scrape_cpu = (common.cpu_seconds(daemon.pid) - c0) / 20
    cpu -= polls * scrape_cpu
    samples, _, _ = common.scrape(url, (b"journeyd_",))
    series = sum(1 for name, labels, _ in samples if labels.get("journey") == "shop-00001")
    # Per-scrape cost of the count polls is small next to the runs (a few per second).
    common.stop(daemon)
    if runs < a.runs:
        raise RuntimeError(f"journeyd made {runs} of {a.runs} runs in {a.max_seconds}s")
    requests, conns = connections(work)
    return {"name": "journeyd run", "runs": runs, "requests": requests, "connections": conns,
            "cpu": cpu, "sys": sys_cpu, "wall": wall, "peak_kib": peak, "series": series,
            "ready_kib": ready_kib, "polls": polls, "scrape_cpu": scrape_cpu}


def run_count(url):
    samples, _, _ = common.scrape(url, (b"journeyd_journey_runs_total",))
    return int(sum(v for name, _, v in samples if name == "journeyd_journey_runs_total"))


def measure_blackbox(a, work, base):
    binary = shutil.which("prometheus-blackbox-exporter")
    if binary is None:
        return {"skipped": "prometheus-blackbox-exporter not installed"}
    conf = os.path.join(work, "blackbox.yml")
    with open(conf, "w") as f:
        f.write(BLACKBOX)
    port = free_port()
    proc = common.start([binary, f"--config.file={conf}", f"--web.listen-address=127.0.0.1:{port}"],
                        os.path.join(work, "blackbox.log"))
    wait_port(port, proc)
    target = f"{base}/api/products"
    path = f"/probe?module=http_2xx&target={target}"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    # One probe to warm up and to count its series.
    conn.request("GET", path)
    body = conn.getresponse().read().decode()
    series = sum(1 for line in body.splitlines() if line and not line.startswith("#"))
    connections(work)
    cpu0, t0 = common.cpu_split(proc.pid), time.monotonic()
    ok = 0
    for _ in range(a.runs):
        conn.request("GET", path)
        text = conn.getresponse().read().decode()
        ok += "probe_success 1" in text
        if time.monotonic() - t0 > a.max_seconds:
            break
    cpu1, wall = common.cpu_split(proc.pid), time.monotonic() - t0
    cpu, sys_cpu = sum(cpu1) - sum(cpu0), cpu1[1] - cpu0[1]
    peak = common.status_kib(proc.pid, "VmHWM")
    conn.close()
    common.stop(proc)
    requests, conns = connections(work)
    if ok < a.runs:
        raise RuntimeError(f"blackbox: {ok} of {a.runs} probes succeeded")
    return {"name": "blackbox_exporter", "runs": ok, "requests": requests,
            "connections": conns, "cpu": cpu, "sys": sys_cpu, "wall": wall,
            "peak_kib": peak, "series": series}


def report(a, sides):
    print()
    print(f"== {a.runs} runs each, one nginx target on 127.0.0.1; {common.machine()}")
    rows = []
    for s in sides:
        if "skipped" in s:
            print(f"skipped: {s['skipped']}")
            continue
        rows.append([
            s["name"], str(s["runs"]), str(s["requests"]), str(s["connections"]),
            f"{s['wall']:.2f}", f"{s['cpu']:.2f}", f"{1000 * s['cpu'] / s['runs']:.3f}",
            f"{1000 * s['sys'] / s['runs']:.3f}",
            f"{1e6 * s['cpu'] / max(1, s['requests']):.0f}",
            f"{s['peak_kib'] / 1024:.1f}", str(s["series"]),
        ])
    print(common.table(["", "runs", "requests", "connections", "wall s", "CPU s",
                        "CPU/run ms", "of which kernel ms", "CPU/request µs", "peak RSS MiB", "series"], rows))
    by = {s["name"].split()[0]: s for s in sides if "skipped" not in s}
    j = by.get("journeyd")
    figures = {f"{s['name'].split()[0]} CPU/run ms": 1000 * s["cpu"] / s["runs"] for s in by.values()}
    if j is None:
        return figures
    per_run = j["cpu"] / j["runs"]
    per_req = j["cpu"] / max(1, j["requests"])
    if "Hurl" in by:
        h = by["Hurl"]
        figures["journeyd / Hurl"] = per_run / (h["cpu"] / h["runs"])
        print(f"journeyd / Hurl, CPU per run: {figures['journeyd / Hurl']:.2f} (goal <= 0.5)")
    if "blackbox_exporter" in by:
        b = by["blackbox_exporter"]
        figures["journeyd / blackbox"] = per_req / (b["cpu"] / max(1, b["requests"]))
        print(f"journeyd / blackbox_exporter, CPU per request: "
              f"{figures['journeyd / blackbox']:.2f} (goal <= 0.3)")
    print(f"journeyd RSS at ready: {j['ready_kib'] / 1024:.1f} MiB; CPU excludes "
          f"{j['polls']} polls of /metrics at {1000 * j['scrape_cpu']:.1f} ms each")
    return figures


def summary(rounds):
    """Each figure of every round, and its median: one round moves by 10 % or more."""
    print()
    print(f"== {len(rounds)} rounds")
    for key in rounds[0]:
        values = [r[key] for r in rounds if key in r]
        print(f"{key}: " + ", ".join(f"{v:.3f}" for v in values)
              + f"; median {statistics.median(values):.3f}")


def main():
    a = parse_args()

    def measure(work, base):
        only = set(a.only.split(","))
        rounds = []
        for i in range(a.repeat):
            sides = []
            for name, fn in (("hurl", measure_hurl), ("journeyd", measure_journeyd),
                             ("blackbox", measure_blackbox)):
                if name not in only:
                    continue
                log(f"round {i + 1} of {a.repeat}: measuring {name}")
                connections(work)
                sides.append(fn(a, work, base))
            rounds.append(report(a, sides))
        if a.repeat > 1:
            summary(rounds)
        return 0

    return against_nginx("journeyd-bench-peers-", measure)


if __name__ == "__main__":
    sys.exit(main())
