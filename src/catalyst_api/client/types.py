"""Wire shapes the client reads, as `TypedDict`s (spec §3.6–3.11, §4.2; DESIGN "Contract details").

The client depends on the HTTP contract only, never on the server's internal classes, so it can
talk to any wire-compatible catalyst-api (including the original, which sends no `seq`).
"""

from __future__ import annotations

from typing import NotRequired, TypedDict

from ..deployments.machine import PHASE0_NAMES

__all__ = [
    "BOOTSTRAP_KIT",
    "PHASE0_STEPS",
    "CreateResponse",
    "DeploymentState",
    "DestroyResponse",
    "EventsResponse",
    "ListPage",
    "RetryResponse",
    "WireEvent",
    "WireProgress",
]

PHASE0_STEPS = PHASE0_NAMES
"""Phase 0 banner phases, in run order (the retry route's Phase 0 names)."""

BOOTSTRAP_KIT = (
    "cilium",
    "cert-manager",
    "flux",
    "crossplane",
    "sealed-secrets",
    "spire",
    "nats-jetstream",
    "openbao",
    "keycloak",
    "gitea",
    "catalyst-platform",
)
"""The 11 bootstrap-kit components Phase 1 reports, in install order (HelmRelease names with
`bp-` removed, platform §8; not the `jetstream` of the retry route's phase list)."""


class WireProgress(TypedDict):
    """`{"done": n, "total": m}` on OpenTofu lines once the plan is known."""

    done: int
    total: int


class WireEvent(TypedDict):
    """One deployment event (`GET /events` item and SSE data frame)."""

    time: str
    phase: str
    level: str
    message: str
    component: NotRequired[str]
    state: NotRequired[str]
    progress: NotRequired[WireProgress]
    seq: NotRequired[int]


class DeploymentState(TypedDict):
    """`GET /api/v1/deployments/{id}` and the `event: done` payload."""

    id: str
    status: str
    startedAt: str
    finishedAt: str | None
    sovereignFQDN: str
    region: str
    numEvents: int
    error: NotRequired[str]
    result: NotRequired[dict[str, object]]
    componentStates: NotRequired[dict[str, str]]
    phase1FinishedAt: NotRequired[str]


class CreateResponse(TypedDict):
    """`POST /api/v1/deployments` → 201."""

    id: str
    status: str
    streamURL: str


class DestroyResponse(TypedDict):
    """`DELETE /api/v1/deployments/{id}` → 202."""

    id: str
    status: str
    streamURL: str


class RetryResponse(TypedDict):
    """`POST .../phases/{phase}/retry` → 200 (Phase 0 accepted or Phase 1 manual)."""

    id: str
    status: str
    phase: str
    streamURL: str
    message: str
    runbook: NotRequired[str]


class ListPage(TypedDict):
    """`GET /api/v1/deployments` → one page, newest first."""

    deployments: list[DeploymentState]
    nextCursor: NotRequired[str]


class EventsResponse(TypedDict):
    """`GET /api/v1/deployments/{id}/events`."""

    state: DeploymentState
    events: list[WireEvent]
    done: bool
