#!/usr/bin/env python3
"""Memory soak: is journeyd's RSS flat over 100,000 runs?

`journeyd run` with N five-step journeys (the side-by-side benchmark's shop, peers.py)
at a short interval against Debian's nginx on 127.0.0.1, until /metrics counts the
target number of runs. Every --sample seconds it records the run count and the daemon's
VmRSS (and VmHWM, CPU). Prints the samples, the first and last RSS, and the slope of
RSS over runs (least squares over the samples after --warmup runs, when the status
board's recent-run windows, SQLite's page cache and the allocator's arenas have filled),
in KiB per 10,000 runs: flat is a slope near zero.

    python3 scripts/bench/soak.py --bin target/release/journeyd            # 100,000 runs
    python3 scripts/bench/soak.py --bin ... --journeys 200 --interval 1 --runs 100000
    python3 scripts/bench/soak.py --bin ... --journeys 1 --interval 2 --runs 10 \
        --warmup 0 --sample 2                                  # idle RSS, one journey

History retention is the daemon's default, so the store grows on disk as it would in
production over these runs; the figure is resident memory, not the database file.
"""

import argparse
import os
import sys
import time

import common
import peers
from common import log


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--bin", required=True, help="the release journeyd binary")
    p.add_argument("--journeys", type=int, default=200, help="how many journeys")
    p.add_argument("--interval", type=int, default=1, help="each journey's interval, s")
    p.add_argument("--runs", type=int, default=100_000, help="stop after this many runs")
    p.add_argument("--warmup", type=int, default=10_000,
                   help="runs before the slope is taken (windows and caches fill)")
    p.add_argument("--sample", type=float, default=10.0, help="seconds between samples")
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--max-seconds", type=int, default=3600, help="give up after, s")
    a = p.parse_args()
    if a.journeys < 1 or a.interval < 1 or a.runs < 1 or not 0 <= a.warmup < a.runs:
        p.error("--journeys >= 1, --interval >= 1, --runs >= 1, 0 <= --warmup < --runs")
    return a


def write_journeys(work, base, n, interval):
    directory = os.path.join(work, "journeys")
    os.makedirs(directory)
    for i in range(1, n + 1):
        name = f"shop-{i:05d}"
        text = peers.JOURNEY.format(name=name, base=base)
        with open(os.path.join(directory, f"{name}.yaml"), "w") as f:
            f.write(text.replace("interval: 1h", f"interval: {interval}s"))
    return directory


def slope(points):
    """Least-squares slope of (x, y) points; 0 for fewer than two."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else 0.0


def soak(a, work, base):
    journeys = write_journeys(work, base, a.journeys, a.interval)
    config = os.path.join(work, "journeyd.yaml")
    with open(config, "w") as f:
        f.write(peers.CONFIG.format(journeys=journeys, state=os.path.join(work, "state"),
                                    concurrency=a.concurrency, within=a.interval))
    env = dict(os.environ, NO_COLOR="1", RUST_LOG="warn,journeyd=info")
    daemon, url, _ = common.start_daemon(a.bin, config, work, env)
    samples = []
    t0 = time.monotonic()
    while True:
        runs = peers.run_count(url)
        samples.append({"t": time.monotonic() - t0, "runs": runs,
                        "rss": common.status_kib(daemon.pid, "VmRSS"),
                        "hwm": common.status_kib(daemon.pid, "VmHWM"),
                        "anon": common.status_kib(daemon.pid, "RssAnon"),
                        "file": common.status_kib(daemon.pid, "RssFile"),
                        "cpu": common.cpu_seconds(daemon.pid)})
        s = samples[-1]
        log(f"{s['t']:7.0f} s  {runs:7d} runs  RSS {s['rss'] / 1024:6.1f} MiB  "
            f"HWM {s['hwm'] / 1024:6.1f} MiB")
        if runs >= a.runs or s["t"] > a.max_seconds:
            break
        time.sleep(a.sample)
    common.stop(daemon)
    return samples


def report(a, samples):
    first, last = samples[0], samples[-1]
    after = [(s["runs"], s["rss"]) for s in samples if s["runs"] >= a.warmup]
    per_10k = slope(after) * 10_000
    cpu = last["cpu"] - first["cpu"]
    runs = last["runs"] - first["runs"]
    print()
    print(f"== soak: {a.journeys} journeys every {a.interval} s, {last['runs']} runs in "
          f"{last['t']:.0f} s; {common.machine()}")
    print(f"RSS first sample ({first['runs']} runs): {first['rss'] / 1024:.1f} MiB; "
          f"last ({last['runs']} runs): {last['rss'] / 1024:.1f} MiB; "
          f"peak (VmHWM): {last['hwm'] / 1024:.1f} MiB")
    print(f"last sample: RssAnon {last['anon'] / 1024:.1f} MiB (heap, stacks), "
          f"RssFile {last['file'] / 1024:.1f} MiB (the executable's and libraries' pages)")
    warm = next((s for s in samples if s["runs"] >= a.warmup), last)
    print(f"RSS at {warm['runs']} runs (end of warm-up): {warm['rss'] / 1024:.1f} MiB; "
          f"slope after it: {per_10k:+.1f} KiB per 10,000 runs over {len(after)} samples")
    if runs:
        print(f"CPU per run over the soak: {1000 * cpu / runs:.3f} ms")
    if last["runs"] < a.runs:
        print(f"stopped after {a.max_seconds} s with {last['runs']} of {a.runs} runs")
        return 1
    return 0


def main():
    a = parse_args()
    return peers.against_nginx("journeyd-bench-soak-",
                               lambda work, base: report(a, soak(a, work, base)))


if __name__ == "__main__":
    sys.exit(main())
