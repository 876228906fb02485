"""The PostgreSQL backend of the store: migrations, the event log, `db migrate`, `db import`."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import httpx
import psycopg
import pytest

from catalyst_api.cli import main
from catalyst_api.store.keyring import KeyRing, KeyRingError
from catalyst_api.store.pg import (
    Database,
    PgEventLog,
    PgKubeconfigVault,
    PgRecordStore,
    applied_versions,
    migrate,
    migration_files,
)
from support.postgres import PostgresServer

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "original-store"


@pytest.fixture
def empty_db(postgres_server: PostgresServer) -> str:
    return postgres_server.create_database(migrated=False)


def test_db_migrate_applies_every_migration_once(
    empty_db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CATALYST_DATABASE_URL", empty_db)
    assert main(["db", "migrate"]) == 0
    assert "migrations applied: [1" in capsys.readouterr().out
    assert main(["db", "migrate"]) == 0
    assert "none (up to date)" in capsys.readouterr().out
    with psycopg.connect(empty_db, autocommit=True) as conn:
        assert applied_versions(conn) == [m.version for m in migration_files()]
        assert migrate(conn) == []


def test_db_commands_need_a_database_url(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CATALYST_DATABASE_URL", raising=False)
    assert main(["db", "migrate"]) == 2
    assert "CATALYST_DATABASE_URL is not set" in capsys.readouterr().err


async def test_events_are_durable_ordered_and_indexed_across_instances(
    postgres_server: PostgresServer,
) -> None:
    url = postgres_server.create_database()
    db = Database(url)
    await db.open()
    try:
        log = PgEventLog(db, flush_interval=0.005)
        await log.start()
        for seq in range(1, 2501):
            log.append("aaaaaaaaaaaaaaaa", b'{"seq": %d, "message": "m%d"}' % (seq, seq), seq=seq)
        log.append("bbbbbbbbbbbbbbbb", b'{"seq": 1}', seq=1)
        await log.flush()
        await log.aclose()

        again = PgEventLog(db)
        await again.start()
        await again.indexed()
        assert again.count("aaaaaaaaaaaaaaaa") == 2500
        assert again.info_sync("aaaaaaaaaaaaaaaa").last_seq == 2500
        assert again.count("bbbbbbbbbbbbbbbb") == 1
        skip, rest = again.iter_from("aaaaaaaaaaaaaaaa", 1200)
        seqs = [e["seq"] for e in await asyncio.to_thread(list, rest)]
        assert skip == 1200 and seqs == list(range(1201, 2501))
        assert again.has_log("bbbbbbbbbbbbbbbb") and not again.has_log("cccccccccccccccc")
        await again.aclose()
    finally:
        await db.aclose()


async def test_a_lone_event_is_announced_at_once_and_a_burst_once_per_deployment(
    postgres_server: PostgresServer,
) -> None:
    """Issue 16 fan-out: the first event after a quiet spell is committed (and announced to
    the other replicas) without waiting for the flush interval; a burst is one commit that
    announces each deployment's last seq once."""
    url = postgres_server.create_database()
    db = Database(url)
    await db.open()
    listener = await psycopg.AsyncConnection.connect(url, autocommit=True)
    await listener.execute("LISTEN catalyst_events")
    log = PgEventLog(db, flush_interval=3.0)
    await log.start()
    try:

        async def notes(count: int) -> list[str]:
            got: list[str] = []
            async for note in listener.notifies(timeout=10):
                got.append(note.payload)
                if len(got) == count:
                    break
            return got

        log.append("aaaaaaaaaaaaaaaa", b'{"seq": 1}', seq=1)
        assert await asyncio.wait_for(notes(1), 2.0) == ["aaaaaaaaaaaaaaaa:1"]  # not 3 s
        for seq in range(2, 302):
            log.append("aaaaaaaaaaaaaaaa", b'{"seq": %d}' % seq, seq=seq)
        log.append("bbbbbbbbbbbbbbbb", b'{"seq": 1}', seq=1)
        assert sorted(await notes(2)) == ["aaaaaaaaaaaaaaaa:301", "bbbbbbbbbbbbbbbb:1"]
        await log.flush()
        rows = await (await listener.execute("SELECT count(*) FROM events")).fetchone()
        assert rows == (302,)
    finally:
        await log.aclose()
        await listener.close()
        await db.aclose()


async def test_a_failed_batch_is_retried_without_loss_or_duplicates(
    postgres_server: PostgresServer,
) -> None:
    """Events appended while the database refuses writes are committed once it accepts them."""
    url = postgres_server.create_database()
    db = Database(url)
    await db.open()
    log = PgEventLog(db, flush_interval=0.005)
    await log.start()
    await log.indexed()
    log.info_sync("aaaaaaaaaaaaaaaa")
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute("ALTER TABLE events RENAME TO events_away")
        for seq in range(1, 6):
            log.append("aaaaaaaaaaaaaaaa", b'{"seq": %d}' % seq, seq=seq)
        await asyncio.sleep(0.3)  # let a write fail at least once (not a synchronisation)
        assert log.has_pending("aaaaaaaaaaaaaaaa")
        admin.execute("ALTER TABLE events_away RENAME TO events")
        await asyncio.wait_for(log.flush(), 10)
        rows = admin.execute("SELECT seq FROM events ORDER BY seq").fetchall()
    assert [r[0] for r in rows] == [1, 2, 3, 4, 5]
    await log.aclose()
    await db.aclose()


async def test_records_upsert_and_list(postgres_server: PostgresServer) -> None:
    db = Database(postgres_server.create_database())
    await db.open()
    try:
        store = PgRecordStore(db)
        assert await asyncio.to_thread(store.open)
        assert await store.save("aaaaaaaaaaaaaaaa", {"id": "aaaaaaaaaaaaaaaa", "status": "x"})
        assert await store.save("aaaaaaaaaaaaaaaa", {"id": "aaaaaaaaaaaaaaaa", "status": "y"})
        assert not await store.save("../etc", {"id": "../etc"})
        rows = await asyncio.to_thread(lambda: list(store.iter_records(lambda p, w: None)))
        assert [raw["status"] for _, raw in rows] == ["y"]
        assert "***" not in store.describe()["database"] or "@" in store.describe()["database"]
    finally:
        await db.aclose()


@pytest.mark.timeout(60)
def test_import_of_the_original_store_is_idempotent_and_serves_it(
    postgres_server: PostgresServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    make_settings,  # type: ignore[no-untyped-def]
    start_server,  # type: ignore[no-untyped-def]
    scripted_overrides,  # type: ignore[no-untyped-def]
) -> None:
    source = tmp_path / "original"
    shutil.copytree(FIXTURES, source)
    before = {p.name: p.read_bytes() for p in source.iterdir()}
    url = postgres_server.create_database(migrated=False)
    monkeypatch.setenv("CATALYST_DATABASE_URL", url)

    assert main(["db", "import", str(source)]) == 0
    out = capsys.readouterr().out
    assert "imported 3 deployments (9 events); 0 already in the database; 1 skipped" in out
    assert "0bad0bad0bad0bad.json" in out
    assert main(["db", "import", str(source)]) == 0
    assert "imported 0 deployments (0 events); 3 already" in capsys.readouterr().out
    assert {p.name: p.read_bytes() for p in source.iterdir()} == before  # read only

    server = start_server(make_settings(CATALYST_DATABASE_URL=url), scripted_overrides())
    inflight = httpx.get(f"{server.url}/api/v1/deployments/3f2a9c41d07be815/events").json()
    assert inflight["state"]["status"] == "failed"
    assert "orphan" in inflight["state"]["error"]
    assert [e["seq"] for e in inflight["events"]] == [1, 2, 3, 4, 5, 6]
    assert inflight["events"][0]["message"] == "Initialising OpenTofu working directory"
    ready = httpx.get(f"{server.url}/api/v1/deployments/a07d55e2c19f3b60").json()
    assert ready["status"] == "ready"
    assert ready["componentStates"]["cilium"] == "installed"
    ready_probe = httpx.get(f"{server.url}/readyz").json()
    assert ready_probe["checks"]["store"]["ok"] is True
    assert "database" in ready_probe["checks"]["store"]


async def test_key_rotation_keeps_old_kubeconfigs_readable_and_rewrap_moves_them(
    postgres_server: PostgresServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = postgres_server.create_database()
    old, new = KeyRing.generate("k1"), KeyRing.generate("k2")
    db = Database(url)
    await db.open()
    try:
        await PgKubeconfigVault(db, KeyRing.parse(old)).put("aaaaaaaaaaaaaaaa", b"kube-a")
        rotated = PgKubeconfigVault(db, KeyRing.parse(f"{new},{old}"))
        assert await rotated.put("bbbbbbbbbbbbbbbb", b"kube-b")
        assert not await rotated.put("bbbbbbbbbbbbbbbb", b"again")  # write once
        assert await rotated.get("aaaaaaaaaaaaaaaa") == b"kube-a"  # old key still readable
        with pytest.raises(KeyRingError, match="'k1'"):
            await PgKubeconfigVault(db, KeyRing.parse(new)).get("aaaaaaaaaaaaaaaa")
    finally:
        await db.aclose()
    monkeypatch.setenv("CATALYST_DATABASE_URL", url)
    monkeypatch.setenv("CATALYST_ENCRYPTION_KEY", f"{new},{old}")
    assert await asyncio.to_thread(main, ["db", "rewrap"]) == 0
    assert "re-encrypted 1 kubeconfigs with key 'k2'" in capsys.readouterr().out
    db = Database(url)
    await db.open()
    try:
        only_new = PgKubeconfigVault(db, KeyRing.parse(new))
        assert await only_new.get("aaaaaaaaaaaaaaaa") == b"kube-a"
        with psycopg.connect(url) as conn:
            rows = conn.execute("SELECT key_id, ciphertext FROM kubeconfigs").fetchall()
        assert {r[0] for r in rows} == {"k2"}
        assert all(b"kube-" not in bytes(r[1]) for r in rows)
    finally:
        await db.aclose()


def test_malformed_encryption_keys_are_refused_without_echoing_them() -> None:
    with pytest.raises(KeyRingError) as info:
        KeyRing.parse("k1:c2hvcnQ=")
    assert "32 bytes" in str(info.value) and "c2hvcnQ" not in str(info.value)
    with pytest.raises(KeyRingError):
        KeyRing.parse("no-colon")
