"""Pool-subdomain reservations in the `pool_reservations` table, shared by every replica.

A row (`pool_domain`, `subdomain`) → `deployment_id` is the reservation: the primary key makes
two creates of one name on two replicas end with one row, so one wins and the other is refused
by the insert itself. A row counts (is *live*) while its deployment's stored record is in a
status that holds a pool subdomain — the rule the in-memory registry applies — so a failed or
destroyed deployment releases its name without a delete, and the next reservation takes the row
over. A row whose deployment has no record yet is a create in progress: live for
`pending_grace` seconds (a replica that died between the reservation and the first save leaves
one behind; it lapses then).
"""

from __future__ import annotations

from datetime import timedelta

from .database import Database

__all__ = ["PgPoolReservations"]

_LIVE = (
    "(EXISTS (SELECT 1 FROM deployments d WHERE d.id = r.deployment_id "
    "AND d.record->>'status' = ANY(%(holding)s)) "
    "OR (NOT EXISTS (SELECT 1 FROM deployments d WHERE d.id = r.deployment_id) "
    "AND r.reserved_at > now() - %(grace)s))"
)


class PgPoolReservations:
    """Reserve, check and release (pool domain, subdomain) names across replicas."""

    def __init__(self, db: Database, *, holding: list[str], pending_grace: float = 600.0) -> None:
        """`holding`: the statuses in which a deployment holds its pool subdomain."""
        self.db = db
        self.holding = holding
        self.pending_grace = timedelta(seconds=pending_grace)

    def _params(self, pool: str, sub: str, deployment_id: str = "") -> dict[str, object]:
        return {
            "pool": pool.strip().lower(),
            "sub": sub.strip().lower(),
            "id": deployment_id,
            "holding": self.holding,
            "grace": self.pending_grace,
        }

    async def reserve(self, pool: str, sub: str, deployment_id: str) -> bool:
        """Take the name for `deployment_id`: True when it is free, already this deployment's,
        or held by a deployment that no longer holds it; False when another one does."""
        async with self.db.pool.connection() as conn:
            cur = await conn.execute(
                "INSERT INTO pool_reservations AS r (pool_domain, subdomain, deployment_id) "
                "VALUES (%(pool)s, %(sub)s, %(id)s) "
                "ON CONFLICT (pool_domain, subdomain) DO UPDATE "
                "SET deployment_id = EXCLUDED.deployment_id, reserved_at = now() "
                f"WHERE r.deployment_id = EXCLUDED.deployment_id OR NOT {_LIVE} "
                "RETURNING deployment_id",
                self._params(pool, sub, deployment_id),
            )
            return await cur.fetchone() is not None

    async def held(self, pool: str, sub: str, *, exclude: str = "") -> bool:
        """Whether a deployment other than `exclude` holds the name now."""
        async with self.db.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT 1 FROM pool_reservations r WHERE r.pool_domain = %(pool)s "
                f"AND r.subdomain = %(sub)s AND r.deployment_id <> %(id)s AND {_LIVE}",
                self._params(pool, sub, exclude),
            )
            return await cur.fetchone() is not None

    async def release(self, deployment_id: str) -> None:
        """Drop the deployment's reservations (a create that failed before its first save)."""
        async with self.db.pool.connection() as conn:
            await conn.execute(
                "DELETE FROM pool_reservations WHERE deployment_id = %s", (deployment_id,)
            )
