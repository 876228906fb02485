"""Deployment routes: create, plan, list, get, events, SSE logs, kubeconfig, retry, destroy.

Thin by design: read the request, call `DeploymentService`, shape the response.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response, StreamingResponse

from ..deployments import KUBECONFIG_MAX_BYTES
from ..errors import InvalidRequest, PayloadTooLarge, Unprocessable
from ..events import DeploymentStream, StoredEvent, Subscription
from .access import principal_of, visible_owner
from .bodies import read_capped
from .deps import services
from .json_stream import json_with_raw_array
from .responses import json_response, secret_headers
from .stream_cap import SSE_RECONNECT_MS, refuse_when_full

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/deployments", tags=["deployments"])

CREATE_MAX_BYTES = 1 << 20
SMALL_BODY_MAX_BYTES = 64 << 10
SSE_HEADERS = {
    "Cache-Control": "no-cache",
    "Connection": "keep-alive",
    "X-Accel-Buffering": "no",
}


def _create_too_large() -> PayloadTooLarge:
    return PayloadTooLarge("payload-too-large", f"request body exceeds {CREATE_MAX_BYTES} bytes")


def _small_too_large() -> PayloadTooLarge:
    return PayloadTooLarge(
        "payload-too-large", f"request body exceeds {SMALL_BODY_MAX_BYTES} bytes"
    )


def _kubeconfig_too_large() -> Unprocessable:
    return Unprocessable("body-too-large", f"kubeconfig body exceeds {KUBECONFIG_MAX_BYTES} bytes")


@router.post("", status_code=201)
async def create_deployment(request: Request) -> Response:
    """Validate and record a deployment, then provision it in the background (201)."""
    body = await read_capped(request, CREATE_MAX_BYTES, _create_too_large)
    principal = principal_of(request)
    owner = principal.name if principal is not None else ""
    created = await services(request).deployments.create(body, owner=owner)
    request.state.audit_deployment = created["id"]
    return json_response(created, 201)


@router.post("/plan")
async def plan_deployment(request: Request) -> Response:
    """The create body's validation, then a plan and a cost estimate; creates nothing (200)."""
    body = await read_capped(request, CREATE_MAX_BYTES, _create_too_large)
    return json_response(await services(request).deployments.plan(body))


@router.get("")
async def list_deployments(
    request: Request,
    status: str | None = None,
    limit: str | None = None,
    cursor: str | None = None,
) -> Response:
    """Newest first; `?status=`, `?limit=` (default 50, max 500), `?cursor=`."""
    svc = services(request)
    while True:  # `numEvents` of logs not indexed yet: indexed in a worker, then asked again
        with svc.hub.deferred_counts() as missing:
            page = svc.deployments.list(
                status=status, limit=limit, cursor=cursor, owner=visible_owner(request)
            )
        if not missing:
            return json_response(page)
        await svc.hub.index_logs(missing)


@router.get("/{deployment_id}")
async def get_deployment(deployment_id: str, request: Request) -> Response:
    svc = services(request).deployments
    await svc.known(deployment_id)
    return json_response(svc.state(svc.get(deployment_id)))


@router.get("/{deployment_id}/events")
async def get_events(deployment_id: str, request: Request) -> Response:
    """`{"state", "events", "done"}`, streamed in bounded chunks (see `json_stream`)."""
    svc = services(request).deployments
    await svc.known(deployment_id)
    dep = svc.get(deployment_id)
    await svc.stream(dep).aload()  # in a worker thread; `events()` then reads memory only
    payload = svc.events(dep)
    body = json_with_raw_array(
        {"state": payload["state"]}, "events", payload["events"], {"done": payload["done"]}
    )
    return StreamingResponse(body, media_type="application/json")


def _cursor(request: Request, since: str | None) -> int:
    raw = request.headers.get("last-event-id") or since
    if raw is None or raw.strip() == "":
        return 0
    try:
        value = int(raw.strip())
    except ValueError:
        raise InvalidRequest(
            "invalid-last-event-id", "Last-Event-ID / since must be an event seq number"
        ) from None
    return max(value, 0)


@router.get("/{deployment_id}/logs")
async def stream_logs(deployment_id: str, request: Request, since: str | None = None) -> Response:
    """SSE: `retry:`, then replay after `Last-Event-ID`/`?since=` (or everything), then live,
    then `done`."""
    svc = services(request)
    await svc.deployments.known(deployment_id)
    dep = svc.deployments.get(deployment_id)
    cursor = _cursor(request, since)
    if (full := refuse_when_full(svc)) is not None:
        return full
    stream = svc.deployments.stream(dep)
    await stream.aload()  # in a worker thread; `subscribe()` then reads memory only
    subscription = stream.subscribe(cursor)

    async def frames() -> AsyncIterator[bytes]:
        try:
            yield b"retry: %d\n\n" % SSE_RECONNECT_MS
            async for chunk in _sse_frames(stream, subscription, svc.sse_ping_interval):
                yield chunk
            yield b"event: done\ndata: " + orjson.dumps(svc.deployments.state(dep)) + b"\n\n"
        finally:
            subscription.close()

    return StreamingResponse(frames(), media_type="text/event-stream", headers=SSE_HEADERS)


def _encode_frames(batch: list[StoredEvent]) -> bytes:
    """`id: <seq>` + `data: <event JSON>` frames (shared by the subscribers at one cursor)."""
    return b"".join(b"id: %d\ndata: %s\n\n" % (item.seq, item.json) for item in batch)


async def _sse_frames(
    stream: DeploymentStream, subscription: Subscription, ping_interval: float
) -> AsyncIterator[bytes]:
    """Data frames until the run is done and the subscriber has caught up; pings when idle."""
    while True:
        frames = await subscription.next_frames(_encode_frames)
        if frames:
            yield frames
            continue
        if stream.done:
            return
        if not await subscription.wait(ping_interval):
            yield b": ping\n\n"


@router.get("/{deployment_id}/kubeconfig")
async def download_kubeconfig(deployment_id: str, request: Request) -> Response:
    await services(request).deployments.known(deployment_id)
    data, filename = await services(request).deployments.read_kubeconfig(deployment_id)
    return Response(
        data,
        media_type="application/yaml",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            **secret_headers(),
        },
    )


@router.put("/{deployment_id}/kubeconfig", status_code=204)
async def put_kubeconfig(deployment_id: str, request: Request) -> Response:
    """cloud-init postback: bearer-checked, single use, 1 MiB cap, 204."""
    svc = services(request).deployments
    await svc.known(deployment_id)
    dep = svc.authorize_kubeconfig_put(deployment_id, request.headers.get("authorization"))
    body = await read_capped(request, KUBECONFIG_MAX_BYTES, _kubeconfig_too_large)
    await svc.store_kubeconfig(dep, body)
    return Response(status_code=204)


@router.post("/{deployment_id}/phases/{phase}/retry")
async def retry_phase(deployment_id: str, phase: str, request: Request) -> Response:
    svc = services(request).deployments
    await svc.known(deployment_id)
    svc.get(deployment_id)
    body = await read_capped(request, SMALL_BODY_MAX_BYTES, _small_too_large)
    return json_response(await svc.retry(deployment_id, phase, body))


@router.delete("/{deployment_id}", status_code=202)
async def destroy_deployment(deployment_id: str, request: Request) -> Response:
    svc = services(request).deployments
    await svc.known(deployment_id)
    svc.get(deployment_id)
    body = await read_capped(request, SMALL_BODY_MAX_BYTES, _small_too_large)
    return json_response(await svc.destroy(deployment_id, body), 202)
