#!/usr/bin/env python3
"""Memory per journey once warm: RSS at N1 and N2 journeys after R runs each.

Runs the soak (soak.py: five-step journeys against Debian's nginx on 127.0.0.1) twice,
with --small and --large journeys, until every journey has run about --runs-each times
(so every recent-runs ring, flaky window and cache has filled), and takes the daemon's
RssAnon (heap and stacks, the part that grows with journeys) and VmRSS (which also
counts the executable's mapped pages) at the last sample. Per journey is the
difference divided by (large - small). --repeat takes that many pairs and prints each
and the median, since one pair moves by a KiB or more on a busy machine.

    python3 scripts/bench/per_journey.py --bin target/release/journeyd
    python3 scripts/bench/per_journey.py --bin ... --small 1000 --large 2000 --repeat 3

The issue's goal is at most 10 KiB per 5-step journey once all have run.
"""

import argparse
import os
import statistics
import sys

import common
import peers
import soak


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--bin", required=True, help="the release journeyd binary")
    p.add_argument("--small", type=int, default=100, help="journeys in the small run")
    p.add_argument("--large", type=int, default=1000, help="journeys in the large run")
    p.add_argument("--runs-each", type=int, default=40, help="runs per journey before the sample")
    p.add_argument("--repeat", type=int, default=1, help="pairs to measure")
    p.add_argument("--max-seconds", type=int, default=900, help="give up on one soak after, s")
    a = p.parse_args()
    if not 1 <= a.small < a.large or a.runs_each < 1 or a.repeat < 1:
        p.error("1 <= --small < --large, --runs-each >= 1, --repeat >= 1")
    return a


def one(a, work, base, journeys):
    """The last sample of a soak of `journeys` journeys, `runs_each` runs each."""
    # At most about 500 runs a second, so the machine keeps up and the run count,
    # not the clock, ends the soak.
    interval = max(1, -(-journeys // 500))
    s = argparse.Namespace(bin=a.bin, journeys=journeys, interval=interval,
                           runs=journeys * a.runs_each, warmup=0, sample=5.0,
                           concurrency=16, max_seconds=a.max_seconds)
    samples = soak.soak(s, work, base)
    last = samples[-1]
    if last["runs"] < s.runs:
        raise RuntimeError(f"{journeys} journeys: {last['runs']} of {s.runs} runs "
                           f"in {a.max_seconds} s")
    return last


def main():
    a = parse_args()

    def measure(work, base):
        anon, total = [], []
        for i in range(a.repeat):
            lo = one(a, os.path.join(work, f"small-{i}"), base, a.small)
            hi = one(a, os.path.join(work, f"large-{i}"), base, a.large)
            n = a.large - a.small
            anon.append((hi["anon"] - lo["anon"]) / n)
            total.append((hi["rss"] - lo["rss"]) / n)
            print(f"pair {i + 1}: RssAnon {lo['anon'] / 1024:.1f} -> {hi['anon'] / 1024:.1f} MiB, "
                  f"VmRSS {lo['rss'] / 1024:.1f} -> {hi['rss'] / 1024:.1f} MiB "
                  f"({a.small} -> {a.large} journeys, {a.runs_each} runs each): "
                  f"{anon[-1]:.1f} KiB per journey of heap, {total[-1]:.1f} KiB of RSS",
                  flush=True)
        print()
        print(f"== per journey once warm ({a.runs_each} runs each), {common.machine()}")
        print(f"heap (RssAnon): median {statistics.median(anon):.1f} KiB per journey; "
              f"RSS: median {statistics.median(total):.1f} KiB (goal <= 10 KiB)")
        return 0

    return peers.against_nginx("journeyd-bench-per-journey-", measure)


if __name__ == "__main__":
    sys.exit(main())
