"""Kubeconfigs in the `kubeconfigs` table, encrypted with the key ring; announced on
`KUBECONFIGS_CHANNEL` so the replica running the deployment learns of a PUT another took."""

from __future__ import annotations

from ..keyring import KeyRing
from .database import Database

__all__ = ["KUBECONFIGS_CHANNEL", "PgKubeconfigVault"]

KUBECONFIGS_CHANNEL = "catalyst_kubeconfigs"


class PgKubeconfigVault:
    """Write-once encrypted kubeconfig bytes per deployment."""

    def __init__(self, db: Database, keys: KeyRing) -> None:
        self.db = db
        self.keys = keys

    async def put(self, deployment_id: str, data: bytes) -> bool:
        """Store once; False when this deployment already has one (single use)."""
        key_id, nonce, sealed = self.keys.encrypt(data, context=deployment_id)
        async with self.db.pool.connection() as conn, conn.transaction():
            cur = await conn.execute(
                "INSERT INTO kubeconfigs (deployment_id, key_id, nonce, ciphertext) "
                "VALUES (%s, %s, %s, %s) ON CONFLICT (deployment_id) DO NOTHING",
                (deployment_id, key_id, nonce, sealed),
            )
            stored = cur.rowcount == 1
            if stored:
                await conn.execute("SELECT pg_notify(%s, %s)", (KUBECONFIGS_CHANNEL, deployment_id))
        return stored

    async def get(self, deployment_id: str) -> bytes | None:
        async with self.db.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT key_id, nonce, ciphertext FROM kubeconfigs WHERE deployment_id = %s",
                (deployment_id,),
            )
            row = await cur.fetchone()
        if row is None:
            return None
        return self.keys.decrypt(row[0], bytes(row[1]), bytes(row[2]), context=deployment_id)

    async def delete(self, deployment_id: str) -> None:
        async with self.db.pool.connection() as conn:
            await conn.execute("DELETE FROM kubeconfigs WHERE deployment_id = %s", (deployment_id,))

    async def rewrap(self) -> int:
        """Re-encrypt every row not under the newest key (after a rotation); returns how many."""
        async with self.db.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT deployment_id, key_id, nonce, ciphertext FROM kubeconfigs "
                "WHERE key_id <> %s",
                (self.keys.current,),
            )
            rows = await cur.fetchall()
            for deployment_id, key_id, nonce, sealed in rows:
                plain = self.keys.decrypt(
                    key_id, bytes(nonce), bytes(sealed), context=deployment_id
                )
                new_id, new_nonce, new_sealed = self.keys.encrypt(plain, context=deployment_id)
                await conn.execute(
                    "UPDATE kubeconfigs SET key_id = %s, nonce = %s, ciphertext = %s "
                    "WHERE deployment_id = %s",
                    (new_id, new_nonce, new_sealed, deployment_id),
                )
        return len(rows)
