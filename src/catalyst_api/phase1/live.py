"""Which watcher currently observes each deployment's cluster, `refresh-watch` and the
`components/state` answer (spec §8.7–8.8).

A deployment has at most one *live* watcher: its Phase 1 run, or a background watcher started
by `POST .../refresh-watch`. The refresh watcher emits into the deployment's event stream (so
helm-controller lines reach the jobs bridge) but never changes its status or result; it starts
from the persisted component states, so it only reports what changed since. When a Phase 1 run
claims a deployment that a refresh watcher is observing, the refresh watcher is stopped
quietly (two watchers would report everything twice).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol

import structlog

from ..config import format_go_duration
from ..errors import Conflict, GatewayTimeout, InternalError
from ..events import Emit, rfc3339_now
from ..kube import KubeClient, KubeConfigError
from .derive import DEFAULT_NAMESPACE, GO_ZERO_TIME, PREFIX
from .types import ComponentItem
from .watcher import HelmReleaseWatcher, WatchConfig

__all__ = ["JobsSeeder", "LiveWatches", "persisted_components"]

log = structlog.get_logger(__name__)


class JobsSeeder(Protocol):
    """Seeds jobs from a watch snapshot; the future resolves once the seed is stored."""

    def seed(
        self, deployment_id: str, items: list[Mapping[str, Any]]
    ) -> asyncio.Future[tuple[int, int]]: ...


def persisted_components(states: Mapping[str, str]) -> list[ComponentItem]:
    """components/state items synthesised from `result.componentStates` (no live watcher)."""
    return [
        ComponentItem(
            appId=app_id,
            status=state,
            helmReleaseName=PREFIX + app_id,
            namespace=DEFAULT_NAMESPACE,
            lastTransitionAt=GO_ZERO_TIME,
            message="",
        )
        for app_id, state in sorted(states.items())
    ]


class LiveWatches:
    """Deployment id → live watcher; owns the refresh-watch background tasks."""

    def __init__(
        self,
        *,
        config: WatchConfig,
        emitter_for: Callable[[str], Emit],
        seeder: JobsSeeder | None,
        seed_timeout: float = 30.0,
    ) -> None:
        self.config = config
        self.emitter_for = emitter_for
        self.seeder = seeder
        self.seed_timeout = seed_timeout
        self._live: dict[str, HelmReleaseWatcher] = {}
        self._refreshers: set[HelmReleaseWatcher] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._starting: dict[str, asyncio.Lock] = {}

    def get(self, deployment_id: str) -> HelmReleaseWatcher | None:
        """The watcher observing the deployment now, if any."""
        return self._live.get(deployment_id)

    def claim(self, deployment_id: str, watcher: HelmReleaseWatcher) -> None:
        """Make `watcher` the deployment's live watcher (a refresh watcher it replaces stops)."""
        previous = self._live.get(deployment_id)
        if previous is not None and previous is not watcher and previous in self._refreshers:
            previous.stop(quiet=True)
        self._live[deployment_id] = watcher

    def release(self, deployment_id: str, watcher: HelmReleaseWatcher) -> None:
        """Forget the live watcher if it is still `watcher`."""
        if self._live.get(deployment_id) is watcher:
            del self._live[deployment_id]

    def stop_refresh(self, deployment_id: str) -> None:
        """Stop the refresh watcher observing the deployment, if any (destroy: the cluster goes);
        a Phase 1 run's watcher is left alone."""
        watcher = self._live.get(deployment_id)
        if watcher is not None and watcher in self._refreshers:
            watcher.stop(quiet=True)

    def components(self, deployment_id: str, persisted: Mapping[str, str]) -> dict[str, Any]:
        """`GET .../components/state` body."""
        watcher = self.get(deployment_id)
        if watcher is not None:
            return {"watching": True, "components": watcher.snapshot()}
        return {"watching": False, "components": persisted_components(persisted)}

    async def refresh(
        self, deployment_id: str, *, kubeconfig_path: str, known_states: Mapping[str, str]
    ) -> tuple[int, dict[str, Any]]:
        """`POST .../refresh-watch`: (status, body), or raises the spec's 409/500/504."""
        lock = self._starting.setdefault(deployment_id, asyncio.Lock())
        async with lock:  # concurrent refreshes: one starts a watcher, the others see it
            current = self.get(deployment_id)
            if current is not None:
                body = {"watching": True, "alreadyActive": True, "components": current.snapshot()}
                return 200, body
            watcher, seeded = await self._start_refresh(
                deployment_id, kubeconfig_path, known_states
            )
        try:
            async with asyncio.timeout(self.seed_timeout):
                await seeded.wait()
        except TimeoutError:
            within = format_go_duration(timedelta(seconds=self.seed_timeout))
            raise GatewayTimeout(
                "seed-timeout",
                f"watcher started but informer initial-list did not sync within {within}",
                extra={"watching": True},
            ) from None
        return 202, {"watching": True, "seededAt": rfc3339_now(), "components": watcher.snapshot()}

    async def _start_refresh(
        self, deployment_id: str, kubeconfig_path: str, known_states: Mapping[str, str]
    ) -> tuple[HelmReleaseWatcher, asyncio.Event]:
        data = await _read_kubeconfig(kubeconfig_path)
        try:
            client = await asyncio.to_thread(KubeClient.from_kubeconfig, data)
        except KubeConfigError as exc:
            raise InternalError("watcher-build-failed", str(exc)) from None
        watcher = HelmReleaseWatcher(
            client,
            emit=self.emitter_for(deployment_id),
            config=self.config,
            label=f"{deployment_id}:refresh",
            known_states=dict(known_states),
        )
        seeded = asyncio.Event()

        def on_synced(items: list[ComponentItem]) -> None:
            if self.seeder is None:
                seeded.set()
                return
            future = self.seeder.seed(deployment_id, list(items))
            future.add_done_callback(lambda _: seeded.set())

        watcher.add_sync_hook(on_synced)
        if self.seeder is not None:
            seeder = self.seeder
            watcher.add_arrival_hook(lambda items: seeder.seed(deployment_id, list(items)))
        self._refreshers.add(watcher)
        self.claim(deployment_id, watcher)
        task = asyncio.create_task(
            self._run(deployment_id, watcher, client), name=f"phase1:{deployment_id}:refresh"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return watcher, seeded

    async def _run(
        self, deployment_id: str, watcher: HelmReleaseWatcher, client: KubeClient
    ) -> None:
        try:
            async with client:
                result = await watcher.run()
            if result.error:
                log.warning("refresh watch ended", deployment_id=deployment_id, error=result.error)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.error("refresh watch crashed", deployment_id=deployment_id, error=repr(exc))
        finally:
            self._refreshers.discard(watcher)
            self.release(deployment_id, watcher)

    async def aclose(self, grace: float = 5.0) -> None:
        """Cancel the refresh watchers (shutdown)."""
        tasks = [t for t in self._tasks if not t.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=grace)
        for task in tasks:
            if task.done():
                with contextlib.suppress(asyncio.CancelledError):
                    task.result()


async def _read_kubeconfig(path: str) -> bytes:
    if not path:
        raise Conflict(
            "watch-not-resumable",
            "deployment has no kubeconfigPath — Phase 0 may not have completed yet, or "
            "cloud-init never PUT the kubeconfig back",
        )
    try:
        return await asyncio.to_thread(Path(path).read_bytes)
    except FileNotFoundError:
        raise Conflict("watch-not-resumable", f"kubeconfig file missing on PVC: {path}") from None
    except OSError as exc:
        raise Conflict("watch-not-resumable", f"kubeconfig file unreadable: {exc}") from None
