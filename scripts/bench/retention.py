#!/usr/bin/env python3
"""Retention at the cap: what the history writer costs once every journey's history is full.

A journeyd that has run for a while holds `history.max_runs_per_journey` runs of every
journey, and every new run pushes one out. This benchmark builds that state without
waiting a week: it starts `journeyd run` once to create its SQLite history, stops it,
fills the history with --cap runs of each of --journeys journeys (small rows: what is
measured is the retention's index walks, not the row size), then runs the daemon again
with that cap for --seconds, after the start-up pass, against Debian's nginx on
127.0.0.1 (the five-step shop of peers.py, every journey every --interval seconds).

It prints the daemon's CPU per run, the CPU per run of the history writer's thread
(`journeyd-store`: inserts and retention), and the most runs any journey holds at the
end (the cap is enforced in checks, so a journey may be up to 1 % over it).

    python3 scripts/bench/retention.py --bin target/release/journeyd
    python3 scripts/bench/retention.py --bin ... --journeys 1000 --cap 2000 --seconds 60
"""

import argparse
import os
import sqlite3
import sys
import time
import uuid

import common
import peers
import soak
from common import log


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--bin", required=True, help="the release journeyd binary")
    p.add_argument("--journeys", type=int, default=500, help="how many journeys")
    p.add_argument("--cap", type=int, default=2000, help="history.max_runs_per_journey")
    p.add_argument("--interval", type=int, default=1, help="each journey's interval, s")
    p.add_argument("--seconds", type=int, default=30, help="measured window, s")
    p.add_argument("--settle", type=int, default=10,
                   help="seconds after ready before the window (the start-up pass)")
    a = p.parse_args()
    if not 1 <= a.journeys <= 5000 or not 1 <= a.cap <= 20000 or not 5 <= a.seconds <= 600:
        p.error("--journeys 1..5000, --cap 1..20000, --seconds 5..600")
    return a


CONFIG_HISTORY = "history:\n  max_runs_per_journey: {cap}\n"


def prefill(db, journeys, cap, interval):
    """`cap` runs of every journey, the newest `interval` seconds ago, oldest first."""
    now_ms = int(time.time() * 1000)
    with sqlite3.connect(db) as conn:
        rows = ((str(uuid.uuid4()), f"shop-{j:05d}", now_ms - (cap - r) * interval * 1000,
                 0.001, "pass", 0, '{"bench":"prefill"}')
                for r in range(cap) for j in range(1, journeys + 1))
        conn.executemany(
            "INSERT INTO runs (run_id, journey, started_at, duration_seconds, verdict,"
            " degraded, run_json) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)


def thread_cpu(pid, name):
    """User + system CPU seconds of `pid`'s threads called `name`."""
    total = 0.0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                text = f.read()
        except OSError:
            continue
        comm = text[text.index("(") + 1:text.rindex(")")]
        if comm == name:
            rest = text.rsplit(")", 1)[1].split()
            total += (int(rest[11]) + int(rest[12])) / common.CLK_TCK
    return total


def most_runs(db):
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        row = conn.execute("SELECT journey, count(*) AS n FROM runs GROUP BY journey"
                           " ORDER BY n DESC LIMIT 1").fetchone()
    return row or ("-", 0)


def measure(a, work, base):
    journeys = soak.write_journeys(work, base, a.journeys, a.interval)
    state = os.path.join(work, "state")
    config = os.path.join(work, "journeyd.yaml")
    with open(config, "w") as f:
        f.write(peers.CONFIG.format(journeys=journeys, state=state, concurrency=16,
                                    within=a.interval))
        f.write(CONFIG_HISTORY.format(cap=a.cap))
    env = dict(os.environ, NO_COLOR="1", RUST_LOG="warn,journeyd=info")
    # First start: journeyd creates and migrates its history, then stops.
    daemon, _, _ = common.start_daemon(a.bin, config, work, env)
    common.stop(daemon)
    db = os.path.join(state, "journeyd.db")
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM runs")
    t0 = time.monotonic()
    prefill(db, a.journeys, a.cap, a.interval)
    log(f"history filled: {a.journeys} journeys x {a.cap} runs in "
        f"{time.monotonic() - t0:.0f} s")
    os.remove(os.path.join(work, "journeyd.log"))
    daemon, url, _ = common.start_daemon(a.bin, config, work, env)
    time.sleep(a.settle)
    cpu0, store0 = common.cpu_seconds(daemon.pid), thread_cpu(daemon.pid, "journeyd-store")
    runs0 = peers.run_count(url)
    time.sleep(a.seconds)
    cpu1, store1 = common.cpu_seconds(daemon.pid), thread_cpu(daemon.pid, "journeyd-store")
    runs1 = peers.run_count(url)
    common.stop(daemon)
    runs = runs1 - runs0
    journey, held = most_runs(db)
    print()
    print(f"== retention at the cap: {a.journeys} journeys every {a.interval} s, "
          f"max_runs_per_journey {a.cap}, {a.seconds} s window; {common.machine()}")
    print(f"runs in the window: {runs}")
    if runs:
        print(f"daemon CPU per run: {1000 * (cpu1 - cpu0) / runs:.3f} ms; "
              f"history writer thread: {1000 * (store1 - store0) / runs:.3f} ms "
              f"({100 * (store1 - store0) / a.seconds:.1f} % of a core)")
    print(f"most runs held by one journey at the end: {held} ({journey}; cap {a.cap})")
    return 0 if runs else 1


def main():
    a = parse_args()
    return peers.against_nginx("journeyd-bench-retention-",
                               lambda work, base: measure(a, work, base))


if __name__ == "__main__":
    sys.exit(main())
