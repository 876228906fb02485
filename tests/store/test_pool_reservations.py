"""Pool-subdomain reservations in PostgreSQL (issue 16): the unique key decides between two
replicas reserving one name at once, and a deployment that no longer holds its name (failed,
destroyed) releases it the way the in-memory registry does."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from psycopg.types.json import Jsonb

from catalyst_api.deployments.registry import HOLDS_POOL_SUBDOMAIN
from catalyst_api.store.pg import Database, PgPoolReservations
from support.postgres import PostgresServer

HOLDING = sorted(s.value for s in HOLDS_POOL_SUBDOMAIN)


@pytest.fixture
async def replicas(
    postgres_server: PostgresServer,
) -> AsyncIterator[tuple[PgPoolReservations, PgPoolReservations]]:
    url = postgres_server.create_database()
    dbs = [Database(url), Database(url)]
    for db in dbs:
        await db.pool.open(wait=True, timeout=10)
    try:
        yield (
            PgPoolReservations(dbs[0], holding=HOLDING),
            PgPoolReservations(dbs[1], holding=HOLDING),
        )
    finally:
        for db in dbs:
            await db.aclose()
        postgres_server.drop_database(url)


async def _record(res: PgPoolReservations, deployment_id: str, status: str) -> None:
    async with res.db.pool.connection() as conn:
        await conn.execute(
            "INSERT INTO deployments (id, record) VALUES (%s, %s) ON CONFLICT (id) "
            "DO UPDATE SET record = EXCLUDED.record",
            (deployment_id, Jsonb({"id": deployment_id, "status": status})),
        )


async def test_concurrent_reservations_of_one_name_on_two_replicas_let_one_win(
    replicas: tuple[PgPoolReservations, PgPoolReservations],
) -> None:
    a, b = replicas
    for round_ in range(20):  # no lock around them: the key alone decides
        sub = f"acme{round_}"
        won = await asyncio.gather(
            a.reserve("omani.works", sub, f"a{round_:015d}"),
            b.reserve("Omani.Works ", sub.upper(), f"b{round_:015d}"),
        )
        assert sorted(won) == [False, True], (sub, won)
        assert await a.held("omani.works", sub) and await b.held("omani.works", sub)


async def test_the_holder_may_reserve_again_and_others_are_refused(
    replicas: tuple[PgPoolReservations, PgPoolReservations],
) -> None:
    a, b = replicas
    assert await a.reserve("omani.works", "acme", "dep-a")
    await _record(a, "dep-a", "provisioning")
    assert await b.reserve("omani.works", "acme", "dep-a")  # a retry of the holder
    assert not await b.reserve("omani.works", "acme", "dep-b")
    assert not await b.held("omani.works", "acme", exclude="dep-a")
    assert await b.held("omani.works", "acme", exclude="dep-b")


@pytest.mark.parametrize("status", ["failed", "destroyed"])
async def test_a_deployment_that_no_longer_holds_its_name_releases_it(
    replicas: tuple[PgPoolReservations, PgPoolReservations], status: str
) -> None:
    a, b = replicas
    assert await a.reserve("omani.works", "acme", "dep-a")
    await _record(a, "dep-a", "ready")
    assert await b.held("omani.works", "acme")
    await _record(a, "dep-a", status)
    assert not await b.held("omani.works", "acme")
    assert await b.reserve("omani.works", "acme", "dep-b")
    await _record(b, "dep-b", "provisioning")
    assert not await a.reserve("omani.works", "acme", "dep-a")  # its retry is refused now


async def test_a_create_that_died_before_its_first_save_lapses(
    replicas: tuple[PgPoolReservations, PgPoolReservations],
) -> None:
    a, b = replicas
    assert await a.reserve("omani.works", "acme", "dep-a")  # no record yet: in progress
    assert not await b.reserve("omani.works", "acme", "dep-b")
    lapsed = PgPoolReservations(b.db, holding=HOLDING, pending_grace=0.0)
    assert not await lapsed.held("omani.works", "acme")
    assert await lapsed.reserve("omani.works", "acme", "dep-b")
    await a.release("dep-b")
    assert not await a.held("omani.works", "acme")
