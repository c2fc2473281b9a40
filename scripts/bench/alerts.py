"""Alert benchmark: detection latency and false pages, with the default alert policy
(confirm 1 after 2s, failure threshold 2, success threshold 2). Run by
scripts/bench-alerts.sh.

Everything runs on 127.0.0.1: the demo company (`journeyd demo-target`), a webhook
receiver (receiver.py) that timestamps each notification, and `journeyd run` with the
shipped journeys (journeys/*.yaml, only their `interval` changed).

1. Detection latency. Faults are injected through the demo's admin API at a random
   moment of the schedule (a seeded uniform delay within one interval after the
   previous alert resolved), and the time from injection to the FIRING notification at
   the receiver is measured, then the time from removing the fault to the RESOLVED one:
   - `catalog error`: `GET /api/products` answers 503, an ordinary step failure;
   - `fulfillment stuck`: orders are paid but never ship, so the `order ships` step
     waits out its `eventually.within` (20 s) before it fails.
   The reference is the journey's own interval: latency / interval.
2. False pages. A proxy (flaky_proxy.py) in front of the demo answers 503 to a fraction
   of all requests at random (seeded); the journeys go through it for a bounded stretch.
   Every JourneyFailing notification is a false page: the target has no real outage.
   Failed runs (journeyd_journey_runs_total{result="fail"}) show the blips happened.
"""

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time

import common
from common import log

HERE = os.path.dirname(os.path.abspath(__file__))
JOURNEY_NAMES = ("purchase", "contract", "app-request")
SECRETS = {"JOURNEYD_SECRET_DEMO_PASSWORD": "demo-password",
           "JOURNEYD_SECRET_TEST_CARD": "4111111111111111"}
SCENARIOS = [
    # (label, process, fault, journey it breaks)
    ("catalog error (step failure)", "catalog", {"mode": "error"}, "purchase"),
    ("fulfillment stuck (back-end process)", "fulfillment", {"mode": "stuck"}, "purchase"),
]

CONFIG = """\
listen: 127.0.0.1:0
journeys: [{journeys}]
state_dir: {state}
alerting:
  receivers:
    - name: bench-webhook
      type: webhook
      url: {receiver}/journeyd
"""


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--bin", required=True, help="the release journeyd binary")
    p.add_argument("--repo", required=True, help="the repository (for journeys/*.yaml)")
    p.add_argument("--interval", type=int, default=10, help="journey interval, detection part")
    p.add_argument("--trials", type=int, default=3, help="injections per fault")
    p.add_argument("--false-interval", type=int, default=5, help="journey interval, false pages")
    p.add_argument("--false-seconds", type=int, default=600, help="false-page stretch, s")
    p.add_argument("--fail-fraction", type=float, default=0.03)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--skip-latency", action="store_true")
    p.add_argument("--skip-false-pages", action="store_true")
    p.add_argument("--workdir", help="temporary directory (default: a new one)")
    a = p.parse_args()
    if not 1 <= a.trials <= 10 or not 1 <= a.false_seconds <= 7200:
        p.error("--trials 1..10, --false-seconds 1..7200")
    if not 0 <= a.fail_fraction < 1 or a.interval < 1 or a.false_interval < 1:
        p.error("--fail-fraction 0..1, intervals >= 1")
    return a


# ---------------------------------------------------------------- set-up


def start_helper(script, args, workdir, name, pattern, lifetime):
    path = os.path.join(workdir, f"{name}.log")
    cmd = [sys.executable, os.path.join(HERE, script), *args, "--max-seconds", str(lifetime)]
    proc = common.start(cmd, path)
    return proc, common.wait_for_line(path, pattern, proc, 30).group(1)


def start_daemon(a, work, name, target, receiver, interval):
    """`journeyd run` on the shipped journeys, every one set to `interval` seconds."""
    d = os.path.join(work, name)
    journeys = os.path.join(d, "journeys")
    os.makedirs(journeys)
    source = os.path.join(a.repo, "journeys")
    for f in sorted(os.listdir(source)):
        if f.endswith(".yaml"):
            with open(os.path.join(source, f)) as src:
                lines = src.read().splitlines(keepends=True)
            with open(os.path.join(journeys, f), "w") as dst:
                dst.writelines(f"interval: {interval}s\n" if line.startswith("interval:")
                               else line for line in lines)
    config = os.path.join(d, "journeyd.yaml")
    with open(config, "w") as f:
        f.write(CONFIG.format(journeys=journeys, state=os.path.join(d, "state"),
                              receiver=receiver))
    env = dict(os.environ, NO_COLOR="1", RUST_LOG="info", SHOP_URL=target,
               CONTRACTS_URL=target, APP_URL=target, **SECRETS)
    proc, base, _ = common.start_daemon(a.bin, config, d, env)
    return proc, base


class Inbox:
    """What the webhook receiver got, read from its file."""

    def __init__(self, path):
        self.path = path

    def all(self):
        try:
            with open(self.path) as f:
                lines = [json.loads(line) for line in f if line.strip()]
        except FileNotFoundError:
            return []
        out = []
        for line in lines:
            body = line["body"]
            alert = body["alerts"][0]
            out.append({"at": line["received_at"], "status": body["status"],
                        "labels": alert["labels"], "fingerprint": alert["fingerprint"],
                        "summary": alert["annotations"].get("summary", "")})
        return out

    def wait(self, predicate, after, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for n in self.all():
                if n["at"] >= after and predicate(n):
                    return n
            time.sleep(0.05)
        return None


def alert_states(base):
    samples, _, _ = common.scrape(base, (b"journeyd_alert_state",))
    return {labels.get("journey"): v for _, labels, v in samples}


def wait_all_ok(base, timeout):
    """Until every journey's alert state is 0 (ok) and it has passed at least twice."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        states = alert_states(base)
        samples, _, _ = common.scrape(base, (b"journeyd_journey_runs_total",))
        passes = {j: common.total(samples, "journeyd_journey_runs_total", journey=j,
                                  result="pass") for j in JOURNEY_NAMES}
        if all(states.get(j) == 0 and passes[j] >= 2 for j in JOURNEY_NAMES):
            return
        time.sleep(0.5)
    raise RuntimeError(f"journeys not all healthy within {timeout}s: {alert_states(base)}")


# ---------------------------------------------------------------- detection latency


def trial(a, rng, target, inbox, base, scenario):
    label, process, fault, journey = scenario
    wait_all_ok(base, 180)
    time.sleep(rng.uniform(0, a.interval))
    injected = time.time()
    status, body = common.http("PUT", f"{target}/admin/faults/{process}", fault)
    if status != 200:
        raise RuntimeError(f"fault injection failed: {status} {body}")
    fired = inbox.wait(lambda n: n["status"] == "firing"
                       and n["labels"].get("alertname") == "JourneyFailing"
                       and n["labels"].get("journey") == journey, injected, 240)
    restored = time.time()
    common.http("DELETE", f"{target}/admin/faults/{process}")
    if fired is None:
        raise RuntimeError(f"{label}: no FIRING notification within 240 s")
    resolved = inbox.wait(lambda n: n["status"] == "resolved"
                          and n["fingerprint"] == fired["fingerprint"], restored, 240)
    if resolved is None:
        raise RuntimeError(f"{label}: no RESOLVED notification within 240 s")
    result = {"detect": fired["at"] - injected, "resolve": resolved["at"] - restored,
              "labels": fired["labels"], "summary": fired["summary"]}
    log(f"{label}: FIRING after {result['detect']:.1f} s "
        f"(step {fired['labels'].get('step')}, class {fired['labels'].get('class')}), "
        f"RESOLVED {result['resolve']:.1f} s after the fault was removed")
    return result


def measure_latency(a, work, rng, target, receiver, inbox):
    daemon, base = start_daemon(a, work, "latency", target, receiver, a.interval)
    log(f"journeyd at {base}, interval {a.interval}s; waiting for every journey to pass twice")
    results = {}
    try:
        for scenario in SCENARIOS:
            results[scenario[0]] = [trial(a, rng, target, inbox, base, scenario)
                                    for _ in range(a.trials)]
        samples, _, _ = common.scrape(base, (b"journeyd_notifications_total",))
        dropped = common.total(samples, "journeyd_notifications_total", result="dropped")
    finally:
        common.stop(daemon)
    return results, dropped


def report_latency(a, results, dropped):
    print(f"\n== detection latency: interval {a.interval}s, default policy, "
          f"{a.trials} injections per fault at a random moment of the schedule")
    print(f"machine: {common.machine()}")
    rows = []
    for label, trials in results.items():
        for key, what in (("detect", "fault -> FIRING"), ("resolve", "fault removed -> RESOLVED")):
            xs = [t[key] for t in trials]
            med = statistics.median(xs)
            rows.append([f"{label}: {what}", f"{min(xs):.1f}", f"{med:.1f}", f"{max(xs):.1f}",
                         f"{min(xs) / a.interval:.2f} / {med / a.interval:.2f} / "
                         f"{max(xs) / a.interval:.2f}"])
    print(common.table(["", "min (s)", "median (s)", "max (s)", "/ interval (min/med/max)"],
                       rows))
    for label, trials in results.items():
        print(f"{label}: each injection: "
              + ", ".join(f"FIRING {t['detect']:.1f} s / RESOLVED {t['resolve']:.1f} s"
                          for t in trials))
        t = trials[0]
        lab = t["labels"]
        print(f"{label}: alert labels step={lab.get('step')!r} backend={lab.get('backend')!r} "
              f"class={lab.get('class')!r}; summary: {t['summary']}")
    print(f"notifications dropped after a permanent receiver error: {dropped:.0f}")


# ---------------------------------------------------------------- false pages


def measure_false_pages(a, work, target, receiver, inbox):
    proxy, proxy_url = start_helper(
        "flaky_proxy.py",
        ["--upstream", target, "--fail-fraction", str(a.fail_fraction), "--seed", str(a.seed)],
        work, "proxy", r"proxy listening on (http://127\.0\.0\.1:\d+)", a.false_seconds + 300)
    daemon, base = start_daemon(a, work, "false-pages", proxy_url, receiver, a.false_interval)
    log(f"journeyd at {base} through the proxy {proxy_url} (fails {a.fail_fraction:.1%}); "
        f"running for {a.false_seconds} s")
    started = time.time()
    try:
        time.sleep(a.false_seconds)
        samples, _, _ = common.scrape(base, (b"journeyd_journey_runs_total",
                                             b"journeyd_step_failures_total",
                                             b"journeyd_runs_skipped_total"))
        _, stats = common.http("GET", f"{proxy_url}/-/proxy-stats")
    finally:
        common.stop(daemon)
        common.stop(proxy)
    got = [n for n in inbox.all() if n["at"] >= started]
    return {"samples": samples, "proxy": stats, "notifications": got,
            "seconds": time.time() - started}


def report_false_pages(a, r):
    s = r["samples"]
    print(f"\n== false pages: every request fails with probability {a.fail_fraction:.1%} "
          f"(seed {a.seed}), interval {a.false_interval}s, {a.false_seconds} s, default policy")
    print(f"machine: {common.machine()}")
    rows = []
    for j in JOURNEY_NAMES:
        runs = common.total(s, "journeyd_journey_runs_total", journey=j)
        fail = common.total(s, "journeyd_journey_runs_total", journey=j, result="fail")
        skipped = common.total(s, "journeyd_runs_skipped_total", journey=j)
        pages = [n for n in r["notifications"] if n["status"] == "firing"
                 and n["labels"].get("alertname") == "JourneyFailing"
                 and n["labels"].get("journey") == j]
        warnings = [n for n in r["notifications"] if n["status"] == "firing"
                    and n["labels"].get("severity") == "warning"
                    and n["labels"].get("journey") == j]
        rows.append([j, f"{runs:.0f}", f"{fail:.0f}", f"{100 * fail / runs:.1f}" if runs else "-",
                     f"{skipped:.0f}", str(len(pages)), str(len(warnings))])
    cols = [sum(float(r_[i]) for r_ in rows) for i in (1, 2, 4, 5, 6)]
    rows.append(["all", f"{cols[0]:.0f}", f"{cols[1]:.0f}",
                 f"{100 * cols[1] / cols[0]:.1f}" if cols[0] else "-", f"{cols[2]:.0f}",
                 f"{cols[3]:.0f}", f"{cols[4]:.0f}"])
    print(common.table(["journey", "runs", "failed runs", "failed %", "skipped (overlap)",
                        "pages (JourneyFailing)", "warnings"], rows))
    hours = r["seconds"] / 3600
    print(f"pages: {cols[3]:.0f} in {r['seconds']:.0f} s = {cols[3] / hours:.1f} per hour "
          f"(goal: 0)")
    p = r["proxy"]
    print(f"proxy: {p.get('requests')} requests, {p.get('injected')} answered 503 "
          f"({100 * p.get('injected', 0) / max(1, p.get('requests', 1)):.2f} %)")
    classes = {}
    for name, labels, v in s:
        if name == "journeyd_step_failures_total" and v:
            key = (labels.get("journey"), labels.get("step"), labels.get("class"))
            classes[key] = classes.get(key, 0) + v
    for (j, step, cls), v in sorted(classes.items()):
        print(f"  step failures: {j} / {step} / {cls}: {v:.0f}")
    for n in r["notifications"]:
        lab = n["labels"]
        print(f"  notification: {n['status']} {lab.get('alertname')} {lab.get('journey')} "
              f"step={lab.get('step')!r} class={lab.get('class')!r}")


def main():
    a = parse_args()
    common.exit_on_sigterm()
    work = a.workdir or tempfile.mkdtemp(prefix="journeyd-bench-alerts-")
    os.makedirs(work, exist_ok=True)
    rng = random.Random(a.seed)
    try:
        inbox = Inbox(os.path.join(work, "notifications.jsonl"))
        lifetime = 3600 + a.false_seconds
        _, receiver = start_helper("receiver.py", ["--out", inbox.path], work, "receiver",
                                   r"receiver listening on (http://127\.0\.0\.1:\d+)", lifetime)
        demo, target = common.start_demo(a.bin, work)
        log(f"demo target at {target}, webhook receiver at {receiver}")
        if not a.skip_latency:
            results, dropped = measure_latency(a, work, rng, target, receiver, inbox)
            report_latency(a, results, dropped)
        if not a.skip_false_pages:
            r = measure_false_pages(a, work, target, receiver, inbox)
            report_false_pages(a, r)
    finally:
        common.stop_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
