"""`catalyst-api db migrate` and `catalyst-api db import DIR [--executions DIR]` (PostgreSQL
backend): the import loads the records and events, and the jobs store when one is given.

Both read `CATALYST_DATABASE_URL`; the service also migrates at start, under the same advisory
lock, so `db migrate` is for running the migrations ahead of a rollout."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

__all__ = ["db_main"]


def db_main(argv: list[str]) -> int:
    """Entry point of `catalyst-api db`."""
    parser = argparse.ArgumentParser(prog="catalyst-api db", description=__doc__)
    sub = parser.add_subparsers(dest="action", required=True)
    sub.add_parser("migrate", help="apply the missing schema migrations")
    imp = sub.add_parser("import", help="load a flat-file deployments directory (idempotent)")
    imp.add_argument("directory", type=Path, help="a CATALYST_DEPLOYMENTS_DIR")
    imp.add_argument(
        "--executions",
        type=Path,
        default=None,
        help="the jobs store to import too (a CATALYST_EXECUTIONS_DIR; default: that "
        "variable when it names a directory)",
    )
    sub.add_parser(
        "rewrap", help="re-encrypt stored kubeconfigs with the newest CATALYST_ENCRYPTION_KEY"
    )
    args = parser.parse_args(argv)
    url = os.environ.get("CATALYST_DATABASE_URL", "").strip()
    if not url:
        print("catalyst-api db: CATALYST_DATABASE_URL is not set", file=sys.stderr)
        return 2

    import psycopg

    from .store.pg import Database, import_directory, migrate, redact_url

    db = Database(url)
    try:
        db.sync_pool.open(wait=True, timeout=10)
        with db.sync_connection() as conn:
            applied = migrate(conn)
        if args.action == "migrate":
            print(f"migrations applied: {applied or 'none (up to date)'}")
            return 0
        if args.action == "rewrap":
            return _rewrap(db)
        if not args.directory.is_dir():
            print(f"catalyst-api db: {args.directory} is not a directory", file=sys.stderr)
            return 2
        report = import_directory(db, args.directory)
        jobs = _import_jobs(db, args.executions)
    except (psycopg.Error, OSError) as exc:
        print(f"catalyst-api db: {redact_url(url)}: {exc}", file=sys.stderr)
        return 1
    finally:
        db.sync_pool.close()
    print(
        f"imported {len(report.imported)} deployments ({report.events} events); "
        f"{len(report.already_present)} already in the database; "
        f"{len(report.skipped)} skipped"
    )
    for name, why in report.skipped:
        print(f"  skipped {name}: {why}")
    if jobs is not None:
        print(
            f"imported the jobs of {len(jobs.imported)} deployments; "
            f"{len(jobs.already_present)} already in the database; {len(jobs.skipped)} skipped"
        )
        for name, why in jobs.skipped:
            print(f"  skipped jobs of {name}: {why}")
    return 0


def _import_jobs(db: object, directory: Path | None) -> Any:
    """The jobs store's import (`jobs.pgstore.JobsImport`), or None when there is none."""
    from .jobs.pgstore import import_jobs
    from .store.pg import Database

    assert isinstance(db, Database)
    if directory is None:
        configured = os.environ.get("CATALYST_EXECUTIONS_DIR", "").strip()
        directory = Path(configured) if configured else None
        if directory is None or not directory.is_dir():
            return None
    if not directory.is_dir():
        raise NotADirectoryError(f"{directory} is not a directory")
    return import_jobs(db, directory)


def _rewrap(db: object) -> int:
    import asyncio

    from .store.keyring import KeyRing, KeyRingError
    from .store.pg import Database, PgKubeconfigVault

    assert isinstance(db, Database)
    try:
        keys = KeyRing.parse(os.environ.get("CATALYST_ENCRYPTION_KEY", ""))
    except KeyRingError as exc:
        print(f"catalyst-api db: CATALYST_ENCRYPTION_KEY: {exc}", file=sys.stderr)
        return 2

    async def run() -> int:
        await db.pool.open(wait=True, timeout=10)
        try:
            return await PgKubeconfigVault(db, keys).rewrap()
        finally:
            await db.pool.close()

    count = asyncio.run(run())
    print(f"re-encrypted {count} kubeconfigs with key {keys.current!r}")
    return 0
