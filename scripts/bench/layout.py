#!/usr/bin/env python3
"""Writes layout/hot-functions.txt: the functions a serving daemon executes, hottest first.

build.rs hands that list to the linker for the release build, which places those functions
at the start of `.text`. Without it they are spread over the whole 23 MB of code, and the
kernel maps 64 KiB around each page the daemon touches: an idle daemon with one journey
held 18 MiB of its own code pages. With it, about 4 MB of code is what start-up, a run, a
scrape and the status page touch, and they sit together.

The list comes from a real daemon, not from reading the code: `journeyd run` under
valgrind's callgrind with the side-by-side benchmark's five-step shop journey (peers.py)
against Debian's nginx on 127.0.0.1, every second, until --runs runs; every --sample
seconds it scrapes /metrics and reads the status page and the API, as Prometheus and an
operator would. Callgrind records every function executed; those of the journeyd
executable are written, by instructions spent in them (most first), keeping only names the
binary defines.

    python3 scripts/bench/layout.py --bin target/release/journeyd    # then rebuild

Run it again after a dependency or compiler update (symbol names change), or when the
idle RSS of `soak.py --journeys 1` grows: names the list holds and the binary lacks are
skipped by the linker, so a stale list costs memory, never a build. The build that is
profiled is the release build with the current list; its names are the ones the next build
will have, as long as journeyd's crate is built as one code unit (Cargo.toml).
"""

import argparse
import collections
import os
import shutil
import stat
import subprocess
import sys
import time

import common
import peers
import soak
from common import log

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "layout", "hot-functions.txt")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--bin", required=True, help="the release journeyd binary")
    p.add_argument("--runs", type=int, default=30, help="runs to profile")
    p.add_argument("--sample", type=float, default=3.0, help="seconds between scrapes")
    p.add_argument("--out", default=OUT, help="where to write the list")
    return p.parse_args()


def under_callgrind(work, binary):
    """A wrapper the benchmark helpers can start like the binary itself."""
    if shutil.which("valgrind") is None:
        sys.exit("layout.py needs valgrind: apt-get install valgrind")
    out = os.path.join(work, "callgrind.out")
    wrapper = os.path.join(work, "journeyd-under-callgrind")
    with open(wrapper, "w") as f:
        f.write("#!/bin/sh\nexec valgrind --tool=callgrind --demangle=no --dump-line=no "
                f"--compress-strings=no --compress-pos=no --callgrind-out-file={out} "
                f"{os.path.abspath(binary)} \"$@\"\n")
    os.chmod(wrapper, os.stat(wrapper).st_mode | stat.S_IEXEC)
    return wrapper, out


def profile(a, work, base):
    journeys = soak.write_journeys(work, base, 1, 1)
    config = os.path.join(work, "journeyd.yaml")
    with open(config, "w") as f:
        f.write(peers.CONFIG.format(journeys=journeys, state=os.path.join(work, "state"),
                                    concurrency=4, within=1))
    wrapper, out = under_callgrind(work, a.bin)
    env = dict(os.environ, NO_COLOR="1", RUST_LOG="warn,journeyd=info")
    daemon, url, ready = common.start_daemon(wrapper, config, work, env)
    log(f"ready under callgrind in {ready:.0f} s")
    t0 = time.monotonic()
    while True:
        runs = peers.run_count(url)
        for path in ("/", "/api/journeys", "/api/journeys/shop-00001/runs", "/healthz"):
            status, _ = common.http("GET", url + path, timeout=60)
            if status != 200:
                sys.exit(f"GET {path}: {status}")
        log(f"{runs} runs")
        if runs >= a.runs:
            break
        if time.monotonic() - t0 > 600:
            sys.exit(f"only {runs} runs in 600 s under callgrind")
        time.sleep(a.sample)
    common.stop(daemon)
    return out


def self_costs(path, binary):
    """Instructions per function of `binary` (self cost, not inclusive)."""
    cost = collections.Counter()
    ours = False
    fn = None
    after_calls = False
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith("ob="):
                ours = os.path.realpath(line[3:].strip()) == os.path.realpath(binary)
            elif line.startswith("fn="):
                fn = line[3:].strip().split("'")[0]  # 'N marks a recursion level
                if ours:
                    cost[fn] += 0
            elif line.startswith("calls="):
                after_calls = True  # the next cost line is the call's inclusive cost
            elif line[:1].isdigit() or line[:1] in "+-*":
                if after_calls:
                    after_calls = False
                elif ours and fn:
                    parts = line.split()
                    if len(parts) >= 2:
                        cost[fn] += int(parts[1])
    return cost


def defined_functions(binary):
    out = subprocess.run(["nm", "--defined-only", binary], check=True, capture_output=True,
                         text=True).stdout
    return {p[2] for p in (line.split() for line in out.splitlines())
            if len(p) == 3 and p[1] in "tTwW"}


def main():
    a = parse_args()
    out = peers.against_nginx("journeyd-layout-", lambda work, base: self_costs(profile(a, work, base), a.bin))
    names = defined_functions(a.bin)
    ordered = [f for f, _ in sorted(out.items(), key=lambda kv: (-kv[1], kv[0])) if f in names]
    if len(ordered) < 1000:
        sys.exit(f"only {len(ordered)} functions profiled: not writing {a.out}")
    sizes = {}
    for line in subprocess.run(["nm", "-S", "--defined-only", a.bin], check=True,
                               capture_output=True, text=True).stdout.splitlines():
        p = line.split()
        if len(p) == 4:
            sizes.setdefault(p[3], int(p[1], 16))
    with open(a.out, "w") as f:
        f.write("\n".join(ordered) + "\n")
    total = sum(sizes.get(f, 0) for f in ordered)
    print(f"{a.out}: {len(ordered)} functions, {total / 2**20:.1f} MiB of code "
          f"(of {sum(sizes.get(f, 0) for f in names) / 2**20:.1f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
