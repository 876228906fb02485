"""Wire shapes of the HTTP API as `TypedDict`s (spec §3.6–3.11, §4.2; DESIGN "Contract details").

The server builds its responses with these types (`Deployment.state()`, `Event.to_dict()`, the
list page) and the client reads them, so the contract is typed out once. The client depends on
this module only, never on the server's internal classes, so it can talk to any wire-compatible
catalyst-api (including the original, which sends no `seq`).
"""

from __future__ import annotations

from typing import NotRequired, TypedDict

__all__ = [
    "CreateResponse",
    "DeploymentState",
    "DestroyResponse",
    "ErrorBody",
    "EstimateLine",
    "EventsResponse",
    "ListPage",
    "PlanCounts",
    "PlanEstimate",
    "PlanResource",
    "PlanResponse",
    "RetryResponse",
    "WireEvent",
    "WireProgress",
]


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
    owner: NotRequired[str]
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


class ErrorBody(TypedDict):
    """An error answer: `{"error": "<code>", "detail": "<sentence>"}` (some routes add keys, e.g.
    `requestId` on a 500; the original's own bodies carry only `error`)."""

    error: str
    detail: NotRequired[str]
    requestId: NotRequired[str]


class PlanResource(TypedDict):
    """One planned resource change of a plan preview."""

    address: str
    type: str
    action: str


class PlanCounts(TypedDict):
    """OpenTofu's plan summary: `add` (creates and replaces), `change`, `destroy` (deletes and
    replaces)."""

    add: int
    change: int
    destroy: int


class EstimateLine(TypedDict):
    """`count` billable items of one SKU (the price table's key) at `unitMonthly` each."""

    item: str
    sku: str
    count: int
    unitMonthly: float


class PlanEstimate(TypedDict):
    """The cost estimate: sums over `lines` of count x the unit's monthly / hourly price."""

    currency: str
    monthly: float
    hourly: float
    lines: list[EstimateLine]


class PlanResponse(TypedDict):
    """`POST /api/v1/deployments/plan` → 200 (nothing is created)."""

    resources: list[PlanResource]
    counts: PlanCounts
    estimate: PlanEstimate
    warnings: list[str]
