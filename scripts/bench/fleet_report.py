"""The report of the fleet benchmark (scripts/bench/fleet.py): Markdown tables of CPU per
run, the ratios against one replica and the solo daemon, fleet events and lease upkeep."""

import common

INTERVAL_S = 60
IDLE_INTERVAL = "1d"


def per_run_ms(cpu, runs):
    return cpu / runs * 1e3 if runs else float("nan")


def figures(w):
    runs, cpu = sum(w["runs"].values()), sum(w["cpu"].values())
    return runs, cpu, w["window"]


def load(w):
    return " ".join(f"{x:.1f}" for x in w["load"])


def report(a, solo, one, three, ev, idle):
    print(f"\n== fleet: {a.journeys} journeys (half one step, half two), interval "
          f"{INTERVAL_S}s, lease_ttl {a.ttl}s, windows of {a.seconds} s")
    print(f"machine: {common.machine()}")
    cols = [("solo (SQLite, no fleet)", solo), ("one replica", one)]
    cols += [(f"three: {rid}", {"window": three["window"], "cpu": {rid: c},
                                "runs": {rid: three["runs"][rid]}, "pg": float("nan"),
                                "nginx": float("nan"), "bad": 0, "load": three["load"]})
             for rid, c in three["cpu"].items()]
    cols.append(("three: total", three))
    rows = []
    for label, w in cols:
        runs, cpu, win = figures(w)
        rows.append([label, f"{runs}", f"{runs / win:.1f}", f"{cpu / win:.3f}",
                     f"{per_run_ms(cpu, runs):.3f}", f"{w['pg'] / win:.3f}",
                     f"{per_run_ms(cpu + w['pg'], runs):.3f}", f"{w['bad']}", load(w)])
    print(common.table(["", "runs", "runs/s", "journeyd cores", "journeyd CPU/run (ms)",
                        "PostgreSQL cores", "journeyd+PG CPU/run (ms)", "non-200",
                        "load average at end"], rows))
    r1, c1, _ = figures(one)
    r3, c3, _ = figures(three)
    rs, cs, _ = figures(solo)
    print()
    print(common.table(["ratio", "value"], [
        ["three replicas' total CPU per run / one replica's",
         f"{per_run_ms(c3, r3) / per_run_ms(c1, r1):.2f}"],
        ["same, PostgreSQL included",
         f"{per_run_ms(c3 + three['pg'], r3) / per_run_ms(c1 + one['pg'], r1):.2f}"],
        ["one replica's CPU per run / solo (SQLite, no fleet)",
         f"{per_run_ms(c1, r1) / per_run_ms(cs, rs):.2f}"],
    ]))
    share = -(-a.journeys // 3)
    print()
    print(common.table(["fleet event", "value"], [
        ["leases owned per replica, journeyd_fleet_journeys_owned (fair share)",
         " / ".join(f"{k} {v:.0f}" for k, v in three["owned_metric"].items()) + f" ({share})"],
        ["leases owned per replica in journey_leases",
         " / ".join(f"{k} {v}" for k, v in sorted(three["owned_db"].items()))],
        ["three started: last ready to balanced (s)", f"{ev['balanced_s']:.1f}"],
        [f"kill -9 of a replica holding {ev['killed_held']}: until the others own all (s)",
         f"{ev['kill_s']:.1f}"],
        ["it restarts: until balanced again (s) / leases moved", f"{ev['rejoin_s']:.1f} / "
         f"{ev['rejoin_moved']} (a fair share: {share})"],
        [f"SIGTERM of a replica holding {ev['term_held']}: until the others own all (s)",
         f"{ev['term_s']:.1f}"],
        ["SIGTERM: until the process exited (s)", f"{ev['term_exit_s']:.1f}"],
    ]))
    ri, ci, wi = figures(idle)
    print()
    print(f"lease upkeep: three replicas holding {a.journeys} leases (interval {IDLE_INTERVAL}, "
          f"{ri} runs in the window), a round every {a.ttl / 3:.0f} s")
    rounds = wi / (a.ttl / 3)
    print(common.table(["idle", "value"], [
        ["journeyd cores, per replica", " / ".join(f"{c / wi:.4f}" for c in idle["cpu"].values())],
        ["journeyd CPU per replica per round (ms)",
         " / ".join(f"{c / rounds * 1e3:.1f}" for c in idle["cpu"].values())],
        ["PostgreSQL cores", f"{idle['pg'] / wi:.4f}"],
        ["load average at end", load(idle)],
    ]))
    for label, w in (("one replica", one), ("three replicas", three), ("idle", idle)):
        if w.get("statements"):
            print(f"\npg_stat_statements, {label} window (top by total time):")
            rows = [[q, calls, total, mean] for calls, total, mean, q in w["statements"]]
            print(common.table(["query (first 90 characters)", "calls", "total ms", "mean ms"],
                               rows))
