"""`make run-ha`: a local PostgreSQL and two catalyst-api replicas (sandbox mode) on two ports,
with nothing in front of them, for trying failover by hand.

    python -m catalyst_sandbox.ha [--host 127.0.0.1] [--ports 8080,8081] [--data-dir .catalyst-ha]

Each replica has its own data dir (`<data-dir>/replica-<n>`); they share the database (a fresh
throwaway cluster under /tmp, removed on exit) and a generated encryption key. Kill one with
`kill -9 <pid>` (the pids are printed) and watch the other take its runs over within the lease
timeout (`CATALYST_LEASE_TTL`, 6 s by default). Ctrl-C stops everything.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from catalyst_api.store.keyring import KeyRing

from .postgres import PostgresServer

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m catalyst_sandbox.ha", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--ports", default="8080,8081", help="comma separated, one per replica")
    parser.add_argument("--data-dir", default=".catalyst-ha", type=Path)
    args = parser.parse_args(argv)
    ports = [int(p) for p in args.ports.split(",") if p.strip()]

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # SIGTERM stops everything like Ctrl-C

    signal.signal(signal.SIGTERM, stop)
    database = PostgresServer()
    database.init()
    database.start()
    url = database.create_database(migrated=False, name="catalyst")
    env = dict(
        os.environ,
        CATALYST_DATABASE_URL=url,
        CATALYST_ENCRYPTION_KEY=KeyRing.generate("dev1"),
    )
    replicas: list[subprocess.Popen[bytes]] = []
    try:
        for number, port in enumerate(ports, start=1):
            replicas.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "catalyst_api.cli",
                        "serve",
                        "--sandbox",
                        "--host",
                        args.host,
                        "--port",
                        str(port),
                        "--data-dir",
                        str(args.data_dir.absolute() / f"replica-{number}"),
                    ],
                    env=dict(env, CATALYST_REPLICA_NAME=f"replica-{number}"),
                )
            )
        print(f"PostgreSQL: {url}", flush=True)
        for number, (port, proc) in enumerate(zip(ports, replicas, strict=True), start=1):
            print(f"replica-{number}: http://{args.host}:{port}  (pid {proc.pid})", flush=True)
        print("kill -9 a pid to try a failover; Ctrl-C stops everything", flush=True)
        while any(p.poll() is None for p in replicas):  # one killed by hand: keep serving
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for proc in replicas:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in replicas:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        database.destroy()
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
