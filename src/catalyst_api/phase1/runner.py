"""`HelmWatchRunner`: the production `Phase1Runner` (spec §8.1 steps 3–4, §8.3).

Builds a kube client from the kubeconfig bytes (failure: the step-3 error event and
`Phase1Outcome.error`), registers the watcher as the deployment's live watcher, seeds the jobs
once the initial list is in, and returns the states and outcome word for `mark_phase1_done`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import structlog

from ..config import Settings
from ..events import Emit, Event, rfc3339_now
from ..kube import KubeClient, KubeConfigError
from ..wire.kit import PHASE1_WATCH_PHASE
from .live import JobsSeeder, LiveWatches
from .types import ComponentItem
from .watcher import HelmReleaseWatcher, Phase1Outcome, WatchConfig

__all__ = ["HelmWatchRunner", "could_not_start_message"]

log = structlog.get_logger(__name__)


def could_not_start_message(error: str) -> str:
    """Spec §8.1 step 3, verbatim around `error`."""
    return (
        f"Phase-1 watch could not start: {error} — Sovereign cluster is up (Phase 0 succeeded) "
        "but per-component state will not stream from this catalyst-api. Operator may run "
        "`kubectl get helmrelease -n flux-system` against the new Sovereign for ad-hoc "
        "diagnostics."
    )


class HelmWatchRunner:
    """Phase 1 against the real (or fake) Sovereign apiserver.

    `overrides` are `WatchConfig` fields (`timeout`, `min_bootstrap_kit_hrs`,
    `first_seen_timeout`, `timing`, `log_tail`, …) that win over the settings (tests).
    """

    def __init__(
        self,
        *,
        settings: Settings,
        live: LiveWatches | None = None,
        seeder: JobsSeeder | None = None,
        **overrides: Any,
    ) -> None:
        self.config = WatchConfig.from_settings(settings, **overrides)
        self.live = live
        self.seeder = seeder

    async def run(
        self,
        *,
        deployment_id: str,
        kubeconfig: bytes,
        emit: Emit,
        known_states: Mapping[str, str] | None = None,
    ) -> Phase1Outcome:
        """Watch until the bootstrap kit is done, the budget runs out, or the task is
        cancelled (then nothing is returned: the run resumes after a restart).

        `known_states` (optional, beyond the `Phase1Runner` protocol): states already
        reported for this deployment (a resumed watch), so only changes are emitted again."""
        try:
            # Off the loop: loading TLS material can take tens of milliseconds.
            client = await asyncio.to_thread(KubeClient.from_kubeconfig, kubeconfig)
        except KubeConfigError as exc:
            message = could_not_start_message(str(exc))
            emit(
                Event(phase=PHASE1_WATCH_PHASE, level="error", message=message, time=rfc3339_now())
            )
            return Phase1Outcome(error=message)
        async with client:
            watcher = HelmReleaseWatcher(
                client,
                emit=emit,
                config=self.config,
                label=deployment_id,
                known_states=dict(known_states or {}),
            )
            seeder = self.seeder
            if seeder is not None:

                def seed(items: list[ComponentItem]) -> None:
                    seeder.seed(deployment_id, list(items))

                watcher.add_sync_hook(seed)
                watcher.add_arrival_hook(seed)  # jobs of releases Flux applies later
            if self.live is not None:
                self.live.claim(deployment_id, watcher)
            try:
                result = await watcher.run()
            except Exception as exc:  # a bug must still end Phase 1 with an outcome
                log.exception("phase1 watch crashed", deployment_id=deployment_id)
                result = Phase1Outcome(
                    watcher.states(),
                    "timeout" if watcher.states() else "flux-not-reconciling",
                    f"Phase-1 watch failed unexpectedly ({type(exc).__name__}); see the "
                    "catalyst-api logs",
                )
            finally:
                if self.live is not None:
                    self.live.release(deployment_id, watcher)
        if result.error:
            emit(
                Event(
                    phase=PHASE1_WATCH_PHASE,
                    level="error",
                    message=result.error,
                    time=rfc3339_now(),
                )
            )
        return result
