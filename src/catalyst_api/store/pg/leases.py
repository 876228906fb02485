"""Per-deployment run leases in the `leases` table (a row with a heartbeat).

A replica takes a deployment's lease before running its work and renews every lease it holds
each `ttl / 3`; a replica that dies stops renewing, and once `expires_at` has passed another
replica may take the lease over. Takes and releases are announced on `RUNS_CHANNEL`
(`<id>:begin` / `<id>:end`) so every replica knows whether a deployment has a run somewhere.
"""

from __future__ import annotations

from datetime import timedelta

from .database import Database

__all__ = ["RUNS_CHANNEL", "PgLeases"]

RUNS_CHANNEL = "catalyst_runs"


class PgLeases:
    """The leases of one replica (`holder`)."""

    def __init__(self, db: Database, *, holder: str, ttl: float) -> None:
        self.db = db
        self.holder = holder
        self.ttl = timedelta(seconds=ttl)

    async def take(self, deployment_id: str) -> bool:
        """Take (or renew) the lease unless another replica holds a live one."""
        async with self.db.pool.connection() as conn, conn.transaction():
            cur = await conn.execute(
                "INSERT INTO leases (deployment_id, holder, expires_at) "
                "VALUES (%s, %s, now() + %s) ON CONFLICT (deployment_id) DO UPDATE "
                "SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at "
                "WHERE leases.expires_at < now() OR leases.holder = EXCLUDED.holder "
                "RETURNING holder",
                (deployment_id, self.holder, self.ttl),
            )
            taken = await cur.fetchone() is not None
            if taken:
                await conn.execute(
                    "SELECT pg_notify(%s, %s)", (RUNS_CHANNEL, f"{deployment_id}:begin")
                )
        return taken

    async def release(self, deployment_id: str) -> None:
        async with self.db.pool.connection() as conn, conn.transaction():
            await conn.execute(
                "DELETE FROM leases WHERE deployment_id = %s AND holder = %s",
                (deployment_id, self.holder),
            )
            await conn.execute("SELECT pg_notify(%s, %s)", (RUNS_CHANNEL, f"{deployment_id}:end"))

    async def renew(self, deployment_ids: list[str]) -> set[str]:
        """Extend the leases held on these deployments; returns those no longer held."""
        if not deployment_ids:
            return set()
        async with self.db.pool.connection() as conn:
            cur = await conn.execute(
                "UPDATE leases SET expires_at = now() + %s "
                "WHERE holder = %s AND deployment_id = ANY(%s) RETURNING deployment_id",
                (self.ttl, self.holder, deployment_ids),
            )
            kept = {row[0] for row in await cur.fetchall()}
        return set(deployment_ids) - kept

    async def held_elsewhere(self, deployment_ids: list[str]) -> set[str]:
        """Which of these deployments another replica holds a live lease on."""
        if not deployment_ids:
            return set()
        async with self.db.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT deployment_id FROM leases WHERE deployment_id = ANY(%s) "
                "AND holder <> %s AND expires_at >= now()",
                (deployment_ids, self.holder),
            )
            return {row[0] for row in await cur.fetchall()}

    async def unleased(self, statuses: list[str], settled: float) -> list[str]:
        """Deployments in one of `statuses` with no live lease, whose record has not changed
        for `settled` seconds (a create records its deployment just before taking the lease)."""
        async with self.db.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT d.id FROM deployments d LEFT JOIN leases l ON l.deployment_id = d.id "
                "WHERE d.record->>'status' = ANY(%s) "
                "AND d.updated_at < now() - %s "
                "AND (l.deployment_id IS NULL OR l.expires_at < now()) ORDER BY d.id",
                (statuses, timedelta(seconds=settled)),
            )
            return [row[0] for row in await cur.fetchall()]
