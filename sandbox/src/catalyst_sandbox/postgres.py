"""A throwaway PostgreSQL cluster: `initdb` + `pg_ctl` from Debian's `postgresql` package on a
temp dir (or a given one), listening on a free loopback port, trust auth. The test fixtures and
`make run-ha` (`python -m catalyst_sandbox.ha`) start theirs with it.

initdb refuses to run as root: as root, the cluster directory is owned by `nobody` and every
server command runs as that user (`setpriv`); as anyone else, as oneself."""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import psycopg

__all__ = ["PostgresServer", "find_pg_bin"]

_names = itertools.count(1)


def find_pg_bin() -> Path:
    """The newest `/usr/lib/postgresql/<ver>/bin` with `initdb`; fails loudly when none."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parent.parent.name),
    )
    if not found:
        raise RuntimeError(
            "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin "
            "(run `make install`, which installs Debian's postgresql package)"
        )
    return Path(found[-1]).parent


def wait_for(condition: Callable[[], bool], timeout: float, interval: float) -> None:
    """Poll `condition` until true; AssertionError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    """One cluster; `create_database()` hands out fresh databases (cloned from a migrated
    template when `template` was prepared)."""

    def __init__(
        self, root: Path | None = None, *, port: int | None = None, durable: bool = False
    ) -> None:
        """`durable`: fsync and synchronous commit on (benchmarks); off by default (tests)."""
        self.durable = durable
        self.bin = find_pg_bin()
        if root is None:
            root = Path(tempfile.mkdtemp(prefix="catalyst-pg-"))
        root.mkdir(parents=True, exist_ok=True)
        self.root = root
        self.data = self.root / "data"
        self.port = port or _free_port()
        self._as_nobody = os.geteuid() == 0
        if self._as_nobody:
            import pwd

            nobody = pwd.getpwnam("nobody")
            os.chown(self.root, nobody.pw_uid, nobody.pw_gid)
        self.template: str | None = None

    def _run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = list(argv)
        if self._as_nobody:
            cmd = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", *cmd]
        return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=120)

    def url(self, database: str = "postgres") -> str:
        # sslmode=disable: the throwaway cluster has no TLS, and OpenTofu's pg backend (lib/pq)
        # would require it by default.
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}?sslmode=disable"

    def init(self) -> None:
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
        )

    def start(self) -> None:
        opts = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c max_connections=300"
        if not self.durable:
            opts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.root / "server.log"),
            "-o",
            opts,
            "-w",
            "-t",
            "60",
            "start",
        )
        wait_for(self.accepting, timeout=30, interval=0.1)

    def accepting(self) -> bool:
        try:
            with psycopg.connect(self.url(), connect_timeout=1):
                return True
        except psycopg.Error:
            return False

    def stop(self, mode: str = "fast") -> None:
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop", check=False
        )

    def kill(self) -> None:
        """SIGKILL the postmaster (a crash: recovery runs at the next start)."""
        pid = int((self.data / "postmaster.pid").read_text().split()[0])
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: not self.accepting(), timeout=10, interval=0.05)

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    @property
    def initialised(self) -> bool:
        return (self.data / "PG_VERSION").exists()

    def prepare_template(self, migrate: object) -> None:
        """Create a migrated template database (`migrate(conn)` on it) for fast clones."""
        name = "catalyst_template"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}".encode())
        with psycopg.connect(self.url(name), autocommit=True) as conn:
            migrate(conn)  # type: ignore[operator]
        self.template = name

    def create_database(self, *, migrated: bool = True, name: str = "") -> str:
        """A new empty database's URL (a clone of the migrated template by default)."""
        name = name or f"t{os.getpid()}_{next(_names)}"
        template = f" TEMPLATE {self.template}" if migrated and self.template else ""
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}{template}".encode())
        return self.url(name)

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1].split("?", 1)[0]
        with (
            contextlib.suppress(psycopg.Error),
            psycopg.connect(self.url(), autocommit=True) as conn,
        ):
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)".encode())
