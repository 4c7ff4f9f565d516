"""A PostgreSQL cluster of the bench's own: initdb into a temporary folder, a free
port, trust auth. A bench that restarts its database (bench/chaos.py) must never do
that to the machine's shared server, which other work uses.

PostgreSQL refuses to run as root: when the bench runs as root, the cluster's folder
belongs to the ``postgres`` user and every server command runs as that user
(``runuser``).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg


def bin_dir() -> Path:
    """The newest installed server's binaries (Debian keeps them out of PATH)."""
    if shutil.which("initdb"):
        return Path(shutil.which("initdb")).parent
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if not found:
        raise RuntimeError("no PostgreSQL server binaries (initdb) found")
    return Path(found[-1]).parent


class PrivatePostgres:
    def __init__(self, port: int) -> None:
        self.port = port
        self.bin = bin_dir()
        self.folder = Path(tempfile.mkdtemp(prefix="fission-pg-"))
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        self.user = None
        if os.geteuid() == 0:
            self.user = "postgres"
            entry = pwd.getpwnam(self.user)
            os.chown(self.folder, entry.pw_uid, entry.pw_gid)
        self.url = f"postgresql://postgres@127.0.0.1:{port}/postgres"

    def _run(self, *cmd: str, check: bool = True) -> subprocess.CompletedProcess:
        full = [str(self.bin / cmd[0]), *cmd[1:]]
        if self.user:
            full = ["runuser", "-u", self.user, "--", *full]
        return subprocess.run(full, capture_output=True, text=True, check=check, stdin=subprocess.DEVNULL)

    def _ctl(self, action: str, *extra: str) -> None:
        # Autovacuum on (initdb's default), unlike this machine's shared server: the
        # paid path's hot rows need it (docs/operations.md).
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder} -c max_connections=200 "
                   "-c shared_buffers=128MB")
        self._run("pg_ctl", action, "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "-o", options,
                  *extra)

    def start(self) -> str:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")
        self._ctl("start")
        self.wait_ready()
        return self.url

    def restart(self) -> None:
        """Fast shutdown (every session cut off, as a failover or an OOM kill of the
        server does) and start again."""
        self._ctl("restart", "-m", "fast")
        self.wait_ready()

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(self.url, connect_timeout=2) as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def stop(self) -> None:
        if self.data.exists():
            self._run("pg_ctl", "stop", "-D", str(self.data), "-m", "immediate", "-w", check=False)
        shutil.rmtree(self.folder, ignore_errors=True)
