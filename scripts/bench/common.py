"""Helpers shared by the daemon and alert benchmarks (Python 3.11 standard library only).

What they read from the OS (CPU time and peak memory from /proc), how they parse
journeyd's /metrics, and how they start and always stop the processes they need.
Every process started here is recorded in $BENCH_PIDS (one pid a line) so the
calling shell script's EXIT trap can stop it even if Python itself is killed.
"""

import json
import os
import platform
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(message):
    """Progress goes to stderr, so stdout holds only the report."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- the machine


def machine():
    """One line: cores, CPU model, memory, kernel, load average at the time."""
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{os.cpu_count()} cores, {model}, {mem_gib:.0f} GiB, "
        f"Linux {platform.release()}, load average {load}"
    )


# ---------------------------------------------------------------- /proc


def cpu_seconds(pid):
    """User + system CPU time of a running process, in seconds (all its threads)."""
    return sum(cpu_split(pid))


def cpu_split(pid):
    """(user, system) CPU time of a running process, in seconds (all its threads)."""
    with open(f"/proc/{pid}/stat") as f:
        # The command name may hold spaces; fields after it are fixed.
        rest = f.read().rsplit(")", 1)[1].split()
    return int(rest[11]) / CLK_TCK, int(rest[12]) / CLK_TCK


def status_kib(pid, field):
    """A `kB` field of /proc/PID/status (`VmHWM` = peak RSS, `VmRSS`), or None."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


# ---------------------------------------------------------------- processes

_started = []


def _record_pid(pid):
    path = os.environ.get("BENCH_PIDS")
    if path:
        with open(path, "a") as f:
            f.write(f"{pid}\n")


def start(cmd, log_path, env=None, cwd=None):
    """Starts a process with stdout and stderr to `log_path`; stopped by `stop_all`."""
    out = open(log_path, "ab")
    proc = subprocess.Popen(
        cmd,
        stdout=out,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=env,
        cwd=cwd,
    )
    out.close()
    _started.append(proc)
    _record_pid(proc.pid)
    return proc


def stop(proc, grace=35.0):
    """SIGTERM, then SIGKILL after `grace` seconds; returns how long it took to exit."""
    if proc.poll() is not None:
        return 0.0
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    return time.monotonic() - t0


def stop_all():
    """Stops every process started here, newest first."""
    for proc in reversed(_started):
        try:
            stop(proc, grace=10.0)
        except OSError:
            pass


def exit_on_sigterm():
    """Turns SIGTERM (from `timeout` or the shell's trap) into a normal exit, so `finally`
    blocks stop the children."""

    def handler(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


def wait_for_line(path, pattern, proc, timeout):
    """Waits until a line of the log at `path` matches `pattern`; returns the match."""
    regex = re.compile(pattern)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{path}: process exited with {proc.returncode}\n{tail(path)}")
        try:
            with open(path, errors="replace") as f:
                for line in f:
                    m = regex.search(line)
                    if m:
                        return m
        except FileNotFoundError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{path}: no line matching {pattern!r} within {timeout}s\n{tail(path)}")


def tail(path, lines=20):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return ""


def start_demo(binary, workdir):
    """Starts `journeyd demo-target` on a free loopback port; returns (process, base URL)."""
    path = os.path.join(workdir, "demo-target.log")
    env = dict(os.environ, NO_COLOR="1", RUST_LOG="warn")
    proc = start([binary, "demo-target", "--listen", "127.0.0.1:0"], path, env=env)
    m = wait_for_line(path, r"demo company listening on (http://127\.0\.0\.1:\d+)", proc, 30)
    return proc, m.group(1)


def start_daemon(binary, config, workdir, env):
    """Starts `journeyd run`; returns (process, base URL, seconds from launch to ready)."""
    path = os.path.join(workdir, "journeyd.log")
    t0 = time.monotonic()
    proc = start([binary, "--log-format", "json", "run", "--config", config], path, env=env)
    m = wait_for_line(path, r'"message":"journeyd started\.","listen":"([0-9.:]+)"', proc, 600)
    return proc, f"http://{m.group(1)}", time.monotonic() - t0


# ---------------------------------------------------------------- HTTP and /metrics


def http(method, url, body=None, timeout=10):
    """A small JSON request to a loopback address; returns (status, parsed body or text)."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, raw = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def scrape(base, prefixes, timeout=120):
    """Samples of /metrics whose name starts with one of `prefixes`.

    Returns (samples, bytes, seconds): samples as (name, {label: value}, float)."""
    t0 = time.monotonic()
    size = 0
    samples = []
    with urllib.request.urlopen(f"{base}/metrics", timeout=timeout) as r:
        for raw in r:
            size += len(raw)
            if not raw.startswith(prefixes):
                continue
            m = _SAMPLE.match(raw.decode())
            if m:
                labels = dict(_LABEL.findall(m.group(2) or ""))
                samples.append((m.group(1), labels, float(m.group(3))))
    return samples, size, time.monotonic() - t0


def total(samples, name, **match):
    """Sum of the samples named `name` whose labels include `match`."""
    return sum(
        v
        for n, labels, v in samples
        if n == name and all(labels.get(k) == want for k, want in match.items())
    )


def buckets(samples, name):
    """Cumulative buckets of an unlabelled histogram: [(le, count)], +Inf last."""
    out = [(float(labels["le"]), v) for n, labels, v in samples if n == f"{name}_bucket"]
    return sorted(out)


def histogram_quantile(q, cumulative):
    """Prometheus' `histogram_quantile`: linear interpolation inside the bucket that holds
    the q-th observation; the first bucket starts at 0; a quantile that falls in the +Inf
    bucket is the largest finite bound. None when there are no observations."""
    if not cumulative or cumulative[-1][1] <= 0:
        return None
    rank = q * cumulative[-1][1]
    prev_le, prev_count = 0.0, 0.0
    for le, count in cumulative:
        if count >= rank:
            if le == float("inf"):
                return prev_le
            if count == prev_count:
                return le
            return prev_le + (le - prev_le) * (rank - prev_count) / (count - prev_count)
        prev_le, prev_count = le, count
    return prev_le


def minus(later, earlier):
    """Bucket-wise difference of two cumulative histograms with the same bounds."""
    before = dict(earlier)
    return [(le, count - before.get(le, 0.0)) for le, count in later]


# ---------------------------------------------------------------- printing


def table(header, rows):
    """A Markdown table; the first column left-aligned, the others right-aligned."""
    cells = [header] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = []
    for n, row in enumerate(cells):
        padded = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:])]
        lines.append("| " + " | ".join(padded) + " |")
        if n == 0:
            rule = ["-" * (widths[0] + 2)] + ["-" * (w + 1) + ":" for w in widths[1:]]
            lines.append("|" + "|".join(rule) + "|")
    return "\n".join(lines)
