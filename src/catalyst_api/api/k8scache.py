"""The k8scache HTTP surface (spec §6.6): list, stream and sync of a Sovereign's objects.

`/stream` and `/sync` are registered before `/{kind}` (chi's static segments win; Starlette
matches in order). Every answer reads the in-memory cache only, never the apiserver (except the
SubjectAccessReview when a user header is present). Error bodies follow the original: a
text/plain 503 "k8scache disabled" and 404 for an unregistered cluster, a JSON 404 for an
unknown kind, text/plain 400 for a bad selector or kinds filter.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response, StreamingResponse

from ..k8scache import RESYNC, K8sCache, Kind, SelectorError
from ..k8scache.fanout import Published
from ..k8scache.query import decode_continue, field_matcher, label_matcher, page, parse_limit
from ..k8scache.store import Entry
from ..timefmt import format_rfc3339
from .access import principal_of
from .deps import services
from .responses import json_response, text_response
from .stream_cap import SSE_RECONNECT_MS, refuse_when_full

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/sovereigns/{sovereign_id}/k8s")

STALE_AFTER = 30.0
STREAM_LINGER = 0.01
"""Seconds a stream waits after a change for more to send with it (fewer, larger writes)."""
SSE_HEADERS = {"Cache-Control": "no-cache", "Connection": "keep-alive", "X-Accel-Buffering": "no"}


def _cache(request: Request) -> K8sCache | None:
    cache = services(request).extra.get("k8scache")
    return cache if isinstance(cache, K8sCache) else None


def _disabled() -> Response:
    return text_response("k8scache disabled\n", 503)


def _unregistered(cluster: str) -> Response:
    return text_response(f"sovereign {cluster!r} is not registered in the k8scache\n", 404)


def _user(request: Request) -> str:
    """The SAR user: the authenticated principal in `required` mode (never empty there, so
    SAR is never skipped), else the configured user header (empty skips SAR, as upstream)."""
    principal = principal_of(request)
    if principal is not None:
        return principal.name
    header = services(request).settings.k8scache_user_header
    return (request.headers.get(header) or "").strip() if header else ""


def _event_frame(cluster: str, kind: str, etype: str, raw: bytes, at: str) -> bytes:
    """The SSE `data:` frame of a `CacheEvent` whose object is already encoded (spliced in)."""
    head = orjson.dumps({"cluster": cluster, "kind": kind, "type": etype})[:-1]
    return b"data: " + head + b',"object":' + raw + b',"at":' + orjson.dumps(at) + b"}\n\n"


@router.get("/stream")
async def stream(sovereign_id: str, request: Request) -> Response:
    """SSE of the cluster's changes: `?kinds=a,b`, `?initialState=1`, pings, resync frames."""
    cache = _cache(request)
    if cache is None:
        return _disabled()
    if await cache.view(sovereign_id) is None:
        return _unregistered(sovereign_id)
    raw = request.query_params.get("kinds", "")
    wanted: list[Kind] = []
    for name in (n.strip() for n in raw.split(",")):
        if not name:
            continue
        kind = cache.kind(name)
        if kind is None:
            return text_response(f'unknown kind "{name}"\n', 400)
        wanted.append(kind)
    if (full := refuse_when_full(services(request))) is not None:
        return full
    initial = request.query_params.get("initialState", "") in ("1", "true")
    user = _user(request)
    kinds = frozenset(k.name for k in wanted)
    ping = services(request).sse_ping_interval
    sub = cache.subscribe(sovereign_id, kinds, user)

    async def allowed(item: Published) -> bool:
        if not user:
            return True
        kind = cache.kind(item.kind)
        return kind is not None and await cache.allowed(
            user=user, cluster=sovereign_id, kind=kind, namespace=item.namespace
        )

    async def frames() -> AsyncIterator[bytes]:
        try:
            connected = f": connected cluster={sovereign_id} kinds={raw}\n"
            yield connected.encode() + b"retry: %d\n\n" % SSE_RECONNECT_MS
            if initial:
                at = format_rfc3339(datetime.now(UTC))
                for kind in sorted(wanted or list(cache.registry), key=lambda k: k.name):
                    for entry in cache.entries(sovereign_id, kind):
                        if await cache.allowed(
                            user=user, cluster=sovereign_id, kind=kind, namespace=entry.namespace
                        ):
                            yield _event_frame(sovereign_id, kind.name, "ADDED", entry.raw, at)
            while True:
                batch = await sub.next_batch(ping, linger=STREAM_LINGER)
                if batch is None:
                    if sub.closed:
                        return
                    yield f": ping {int(time.time())}\n\n".encode()
                elif batch == RESYNC:
                    body = orjson.dumps({"cluster": sovereign_id, "dropped": sub.dropped})
                    yield b"event: resync\ndata: " + body + b"\n\n"
                else:
                    frames = [item.frame() for item in batch if await allowed(item)]
                    if frames:
                        yield b"".join(frames)
        finally:
            cache.unsubscribe(sub)

    return StreamingResponse(frames(), media_type="text/event-stream", headers=SSE_HEADERS)


@router.get("/sync")
async def sync(sovereign_id: str, request: Request) -> Response:
    """`{"cluster", "synced": {kind: bool}}` (kinds the cluster does not serve are left out)."""
    cache = _cache(request)
    if cache is None:
        return _disabled()
    view = await cache.view(sovereign_id)
    if view is None:
        return _unregistered(sovereign_id)
    return json_response({"cluster": sovereign_id, "synced": view.synced()})


@router.get("/{kind}")
async def list_objects(sovereign_id: str, kind: str, request: Request) -> Response:
    """A page of cached objects (ns, labelSelector, fieldSelector subset, limit/continue)."""
    cache = _cache(request)
    if cache is None:
        return _disabled()
    found = cache.kind(kind)
    if found is None:
        return json_response(
            {"error": "unknown kind", "kind": kind, "availableKinds": cache.registry.names()},
            404,
        )
    if await cache.view(sovereign_id) is None:
        return _unregistered(sovereign_id)
    q = request.query_params
    try:
        labels = label_matcher(q.get("labelSelector", ""))
    except SelectorError as exc:
        return text_response(f"bad labelSelector: {exc}\n", 400)
    try:
        offset = decode_continue(q.get("continue", ""))
    except SelectorError as exc:
        return text_response(f"{exc}\n", 400)
    fields = field_matcher(q.get("fieldSelector", ""))
    ns = q.get("ns", "")
    items = [
        e
        for e in cache.entries(sovereign_id, found)
        if (not ns or e.namespace == ns)
        and (labels is None or labels(e))
        and (fields is None or fields(e))
    ]
    user = _user(request)
    if user:
        decisions: dict[str, bool] = {}
        for namespace in sorted({e.namespace for e in items}):
            decisions[namespace] = await cache.allowed(
                user=user, cluster=sovereign_id, kind=found, namespace=namespace
            )
        items = [e for e in items if decisions[e.namespace]]
    chunk = page(items, offset=offset, limit=parse_limit(q.get("limit")))
    age = cache.age_seconds(sovereign_id, found)
    after: dict[str, object] = {}
    if chunk.next_token:
        after["continue"] = chunk.next_token
    after["ageSeconds"] = round(age, 3)
    body = _list_body({"kind": found.name, "cluster": sovereign_id}, chunk.items, after)
    headers = {"X-Cache-Stale-Seconds": f"{age:.2f}"}
    if age > STALE_AFTER:
        headers["Warning"] = '110 catalyst-api "cache stale"'
    return Response(body, media_type="application/json", headers=headers)


def _list_body(before: dict[str, object], items: list[Entry], after: dict[str, object]) -> bytes:
    """`{**before, "items": [...], **after}` + newline, the items' stored JSON spliced in (a
    5,000-object page is one join of cached bytes, not a decode and re-encode). One join, the
    head and tail folded into the first and last item: a second multi-megabyte copy would cost
    more than the join itself (fresh pages)."""
    head = orjson.dumps(before)[:-1] + b',"items":['
    tail = (b"]," + orjson.dumps(after)[1:] if after else b"]}") + b"\n"
    parts = [e.raw for e in items]
    if not parts:
        return head + tail
    parts[0] = head + parts[0]
    parts[-1] = parts[-1] + tail
    return b",".join(parts)
