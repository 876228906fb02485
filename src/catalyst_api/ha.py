"""Wiring of the replicas over one PostgreSQL database: leases, the kubeconfig vault, the
notification listener and the `ReplicaSync` that applies what the other replicas did."""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
from typing import Any

import structlog

from .config import Settings
from .deployments import DeploymentService
from .deployments.registry import HOLDS_POOL_SUBDOMAIN
from .deployments.replicas import ReplicaSync
from .store.keyring import KeyRing
from .store.pg import (
    EVENTS_CHANNEL,
    KUBECONFIGS_CHANNEL,
    RECORDS_CHANNEL,
    RUNS_CHANNEL,
    Database,
    PgKubeconfigVault,
    PgLeases,
    PgListener,
    PgPoolReservations,
)

__all__ = ["CREATE_LOCK", "kubeconfig_vault", "leases_for", "replicate"]

log = structlog.get_logger(__name__)

CREATE_LOCK = 0x0CA7A1_C4  # pg_advisory_lock key serialising creates across replicas
_KINDS = {
    EVENTS_CHANNEL: "events",
    RECORDS_CHANNEL: "records",
    RUNS_CHANNEL: "runs",
    KUBECONFIGS_CHANNEL: "kubeconfigs",
}


def replica_name(settings: Settings) -> str:
    return settings.replica_name or f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


def leases_for(settings: Settings, db: Database) -> PgLeases:
    return PgLeases(db, holder=replica_name(settings), ttl=settings.lease_ttl.total_seconds())


def kubeconfig_vault(settings: Settings, db: Database) -> PgKubeconfigVault | None:
    """The encrypted kubeconfig store; None (files only, with a warning) without a key."""
    text = settings.encryption_key.get_secret_value()
    if not text.strip():
        log.warning(
            "CATALYST_ENCRYPTION_KEY is not set: kubeconfigs stay local files, so another "
            "replica cannot resume a Phase 1 watch or serve a kubeconfig download"
        )
        return None
    return PgKubeconfigVault(db, KeyRing.parse(text))


async def replicate(
    settings: Settings,
    *,
    service: DeploymentService,
    db: Database,
    leases: PgLeases,
    eventlog: Any,
    records: Any,
    stack: contextlib.AsyncExitStack,
) -> ReplicaSync:
    """Join the other replicas: learn their records, events, runs and kubeconfigs, and take
    over the runs of those that die. Stopped by `stack`."""
    ttl = settings.lease_ttl.total_seconds()
    sync = service.replicate(
        records=records,
        leases=leases,
        eventlog=eventlog,
        heartbeat=ttl / 3,
        settle=ttl,
        create_lock=lambda: db.advisory_lock(CREATE_LOCK),
        reservations=PgPoolReservations(db, holding=sorted(s.value for s in HOLDS_POOL_SUBDOMAIN)),
    )

    def on_notify(channel: str, payload: str) -> None:
        sync.notify(_KINDS[channel], payload)

    listener = PgListener(db.url, list(_KINDS), on_notify, on_reconnect=sync.resync)
    listener.start()
    stack.push_async_callback(listener.aclose)
    sync.start()
    stack.push_async_callback(sync.aclose)
    log.info("replica joined", name=leases.holder, lease_ttl=ttl)
    return sync
