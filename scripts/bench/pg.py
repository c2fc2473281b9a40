"""A throw-away PostgreSQL for the fleet benchmark (scripts/bench/fleet.py): Debian's
`postgresql` package, a temporary cluster on a free loopback port, run as the `postgres`
user when root (it refuses root), like src/store/postgres/testutil.rs does for the tests.
`pg_stat_statements` is loaded when the package ships it."""

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time

import common
from common import log


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port} after {timeout}s")


# ---------------------------------------------------------------- PostgreSQL


class Postgres:
    """A temporary cluster of Debian's PostgreSQL, as the `postgres` user when root
    (it refuses root), trust authentication on 127.0.0.1, stopped by `stop`."""

    def __init__(self):
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                       key=lambda p: int(p.split("/")[4]))
        if not found:
            raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql)")
        self.bin = os.path.dirname(found[-1])
        self.dir = tempfile.mkdtemp(prefix="journeyd-bench-pg.")
        self.root = os.geteuid() == 0
        if self.root:
            subprocess.run(["chown", "-R", "postgres:postgres", self.dir], check=True)
        self.data = os.path.join(self.dir, "data")
        self.port = free_port()
        self.statements = os.path.exists(
            os.path.join(os.path.dirname(self.bin), "lib", "pg_stat_statements.so"))

    def _as_postgres(self, args, **kw):
        cmd = (["runuser", "-u", "postgres", "--"] if self.root else []) + args
        return subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=120,
                              **kw)

    def start(self):
        self._as_postgres([f"{self.bin}/initdb", "-D", self.data, "-U", "postgres",
                           "--auth=trust", "-E", "UTF8", "--no-instructions"])
        options = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 "
                   "-c max_connections=200")
        if self.statements:
            options += " -c shared_preload_libraries=pg_stat_statements"
        self._as_postgres([f"{self.bin}/pg_ctl", "-D", self.data, "-l",
                           os.path.join(self.dir, "postgres.log"), "-o", options, "-w",
                           "-t", "60", "start"])
        with open(os.path.join(self.data, "postmaster.pid")) as f:
            self.pid = int(f.readline())
        common._record_pid(self.pid)
        if self.statements:
            self.sql("CREATE EXTENSION pg_stat_statements")

    def url(self):
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def sql(self, query):
        """Rows of a query as lists of strings (psql over TCP, as user postgres)."""
        out = subprocess.run(
            ["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d",
             "postgres", "-X", "-q", "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", query],
            capture_output=True, text=True, timeout=60,
            env=dict(os.environ, PGCONNECT_TIMEOUT="10"))
        if out.returncode != 0:
            raise RuntimeError(f"psql: {out.stderr.strip()}")
        return [line.split("\t") for line in out.stdout.splitlines() if line]

    def cpu(self):
        """CPU seconds of the postmaster, its exited children (it waits for them) and
        every live child (backends, checkpointer, WAL writer...)."""
        total = 0.0
        with open(f"/proc/{self.pid}/stat") as f:
            rest = f.read().rsplit(")", 1)[1].split()
        total += sum(int(x) for x in rest[11:15]) / common.CLK_TCK
        for stat in glob.glob("/proc/[0-9]*/stat"):
            try:
                with open(stat) as f:
                    rest = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(rest[1]) == self.pid:
                total += (int(rest[11]) + int(rest[12])) / common.CLK_TCK
        return total

    def stop(self):
        try:
            self._as_postgres([f"{self.bin}/pg_ctl", "-D", self.data, "-m", "fast", "-w",
                               "stop"])
        except (subprocess.SubprocessError, OSError) as e:
            log(f"stopping PostgreSQL: {e}")
        shutil.rmtree(self.dir, ignore_errors=True)
