"""Follow helm-controller's log and emit the lines that name a `bp-*` HelmRelease (§8.6).

Runs beside the HelmRelease watch for its whole lifetime: find the first `Running` pod with
`app=helm-controller` in flux-system, follow its log from now on (tailLines 0), and when the
stream ends (pod replaced, connection lost) wait `reattach` seconds and look again; with no
running pod, look again every `rediscover` seconds (±50 % jitter, so that many watches started
together do not poll their apiservers in lockstep). Failures are logged, never raised.
A line that says its release only waits for a dependency carries `state: "pending"`.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from dataclasses import dataclass

import structlog

from ..events import Emit, Event, rfc3339_now
from ..kube import KubeClient, KubeError
from .logmatch import match_line, waiting_state

__all__ = ["LogTailTiming", "tail_helm_controller"]

log = structlog.get_logger(__name__)

HELM_CONTROLLER_LABELS = {"app": "helm-controller"}


@dataclass(frozen=True, slots=True)
class LogTailTiming:
    """Seconds between looks for a running pod, and before re-attaching after a stream ends."""

    rediscover: float = 5.0
    reattach: float = 2.0


async def tail_helm_controller(
    client: KubeClient, emit: Emit, *, namespace: str, timing: LogTailTiming
) -> None:
    """Run until cancelled (see the module docstring)."""
    while True:
        try:
            pods = await client.list_pods(namespace=namespace, labels=HELM_CONTROLLER_LABELS)
        except KubeError as exc:
            log.debug("helm-controller pod lookup failed", error=str(exc))
            await asyncio.sleep(_jittered(timing.rediscover))
            continue
        pod = next((p for p in pods if p.phase == "Running"), None)
        if pod is None:
            await asyncio.sleep(_jittered(timing.rediscover))
            continue
        try:
            stream = client.follow_log(pod.name, namespace=namespace, tail_lines=0)
            async with contextlib.aclosing(stream):
                async for raw in stream:
                    matched = match_line(raw)
                    if matched is None:
                        continue
                    component, level, line = matched
                    emit(
                        Event(
                            phase="component-log",
                            level=level,
                            component=component,
                            state=waiting_state(line),
                            message=line,
                            time=rfc3339_now(),
                        )
                    )
        except KubeError as exc:
            log.debug("helm-controller log stream failed", pod=pod.name, error=str(exc))
        await asyncio.sleep(timing.reattach)


def _jittered(seconds: float) -> float:
    return seconds * random.uniform(0.5, 1.5)
