"""The one cap on live SSE streams, `CATALYST_SSE_MAX_STREAMS`: deployment log streams and
k8scache streams count together (each holds a connection, a task and a buffer), and past it a
new stream of either kind gets 503 `too-many-streams` with `Retry-After`."""

from __future__ import annotations

from starlette.responses import Response

from ..k8scache import K8sCache
from ..wiring import Services
from .responses import json_response

__all__ = ["SSE_RECONNECT_MS", "SSE_RETRY_AFTER", "refuse_when_full", "streams_open"]

SSE_RETRY_AFTER = 5
SSE_RECONNECT_MS = 1000
"""The `retry:` field each SSE stream starts with: reconnect after 1 s (docs/API.md)."""


def streams_open(svc: Services) -> int:
    """Live SSE streams of this process: deployment logs plus k8scache subscribers."""
    cache = svc.extra.get("k8scache")
    k8s = cache.fanout.count() if isinstance(cache, K8sCache) else 0
    return svc.hub.subscriber_total() + k8s


def refuse_when_full(svc: Services) -> Response | None:
    """The 503 answer when the cap is reached (counted in `catalyst_sse_rejected_total`)."""
    cap = svc.settings.sse_max_streams
    if streams_open(svc) < cap:
        return None
    svc.metrics.sse_rejected.inc()
    return json_response(
        {
            "error": "too-many-streams",
            "detail": f"this server already serves {cap} live streams; retry later (log "
            "streams resume with Last-Event-ID)",
        },
        503,
        headers={"Retry-After": str(SSE_RETRY_AFTER)},
    )
