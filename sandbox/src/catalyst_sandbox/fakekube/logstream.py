"""`GET .../pods/{name}/log`: text, `tailLines`, `timestamps`, `limitBytes`, `follow`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.responses import PlainTextResponse, Response, StreamingResponse

from .errors import KubeApiError, bad_request
from .podlogs import LogLine
from .store import ObjectStore
from .subscriptions import Control, Subscription

__all__ = ["pod_log_response"]


def _truthy(value: str | None) -> bool:
    return (value or "").lower() in ("1", "t", "true")


def _int_param(params: Mapping[str, str], name: str) -> int | None:
    raw = params.get(name)
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except ValueError:
        raise bad_request(f"{name}: invalid integer {raw!r}") from None


def _check_container(pod: dict[str, Any], container: str | None) -> None:
    names = [c.get("name") for c in (pod.get("spec") or {}).get("containers") or []]
    name = pod["metadata"]["name"]
    if container:
        init = [c.get("name") for c in (pod.get("spec") or {}).get("initContainers") or []]
        if container not in names + init:
            raise bad_request(f"container {container} is not valid for pod {name}")
    elif len(names) > 1:
        raise bad_request(
            f"a container name must be specified for pod {name}, "
            f"choose one of: [{' '.join(str(n) for n in names)}]"
        )


def _format(entry: LogLine, timestamps: bool) -> str:
    when, text = entry
    if not timestamps:
        return text + "\n"
    return f"{when.strftime('%Y-%m-%dT%H:%M:%S.%f')}000Z {text}\n"


async def pod_log_response(
    store: ObjectStore, namespace: str, pod: str, params: Mapping[str, str]
) -> Response:
    """The log response; with `follow=true` it streams until the pod is deleted."""
    if _truthy(params.get("previous")):
        raise bad_request(f'previous terminated container "{pod}" in pod "{pod}" not found')
    tail = _int_param(params, "tailLines")
    since = _int_param(params, "sinceSeconds")
    limit = _int_param(params, "limitBytes")
    timestamps = _truthy(params.get("timestamps"))
    follow = _truthy(params.get("follow"))
    sub = Subscription(asyncio.get_running_loop()) if follow else None
    pods = store.lookup("", "v1", "pods")
    assert pods is not None
    obj, lines = store.logs.open(namespace, pod, sub, lambda: store.get_typed(pods, namespace, pod))
    try:
        _check_container(obj, params.get("container"))
    except KubeApiError:
        if sub:
            store.logs.unfollow(namespace, pod, sub)
        raise
    if since is not None:
        cutoff = datetime.now(UTC) - timedelta(seconds=since)
        lines = [entry for entry in lines if entry[0] >= cutoff]
    if tail is not None:
        lines = lines[len(lines) - tail :] if tail > 0 else []
    head = "".join(_format(e, timestamps) for e in lines)
    if sub is None:
        return PlainTextResponse(head[:limit] if limit else head)

    async def stream() -> AsyncIterator[bytes]:
        sent = 0
        try:
            chunk = head
            while True:
                if chunk:
                    data = chunk.encode()
                    if limit is not None and sent + len(data) >= limit:
                        yield data[: limit - sent]
                        return
                    sent += len(data)
                    yield data
                item = await sub.get(None)
                if item is None or isinstance(item, Control):
                    return
                chunk = _format(item, timestamps)
        finally:
            store.logs.unfollow(namespace, pod, sub)

    return StreamingResponse(stream(), media_type="text/plain")
