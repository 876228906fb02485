"""catalyst-api as `catalyst-api serve` runs it (same uvicorn configuration), with either today's
event hub or the frozen pre-issue-11 one (`bench/_baseline_hub.py`) plugged in where the wiring
builds it, and a Phase 0 backend that emits one event every `tick` ms for `seconds`, then fails.

`python -m bench._list_page_server PORT DATA_DIR new|baseline`. The deployment's `orgName`
carries the shape: `tick=10;seconds=60`.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench._serving import serve
from catalyst_api import wiring
from catalyst_api.events import Emit, Event
from catalyst_api.provisioner import Phase0Outputs, ProvisionError, ProvisionJob


class TickingProvisioner:
    async def apply(self, job: ProvisionJob, emit: Emit) -> Phase0Outputs:
        shape = dict(kv.split("=") for kv in job.org_name.split(";"))
        tick, seconds = float(shape["tick"]) / 1000, float(shape["seconds"])
        loop = asyncio.get_running_loop()
        start = loop.time()
        n = 0
        while loop.time() - start < seconds:
            n += 1
            emit(Event(phase="tofu", message=f"tick {n}"))
            await asyncio.sleep(tick)
        raise ProvisionError(f"bench done: {n} events")

    async def destroy(self, job: ProvisionJob, emit: Emit) -> None:
        return None

    def has_state(self, fqdn: str, **_: Any) -> bool:
        return False


def _plug_in_baseline() -> None:
    """The frozen hub behind the same seam; the routes' async entry points map onto its sync
    ones (what today's routes did: load, count and catch up on the loop)."""
    from bench import _baseline_hub as old

    async def aload(self: old.DeploymentStream) -> None:
        self.ensure_loaded()

    async def next_batch(self: old.Subscription, limit: int = 1000) -> list[old.StoredEvent]:
        return self.pending(limit)

    async def counts_ready(self: old.EventHub) -> None:
        return None

    @contextlib.contextmanager
    def deferred_counts(self: old.EventHub) -> Iterator[list[str]]:
        yield []  # the old count() reads the log in place: nothing is ever deferred

    async def index_logs(self: old.EventHub, deployment_ids: list[str]) -> None:
        return None

    old.DeploymentStream.aload = aload  # type: ignore[attr-defined]
    old.Subscription.next_batch = next_batch  # type: ignore[attr-defined]
    old.EventHub.counts_ready = counts_ready  # type: ignore[attr-defined]
    old.EventHub.deferred_counts = deferred_counts  # type: ignore[attr-defined]
    old.EventHub.index_logs = index_logs  # type: ignore[attr-defined]
    setattr(wiring, "EventHub", old.EventHub)  # noqa: B010 - the seam the wiring reads


def main() -> None:
    port, data, mode = int(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    if mode == "baseline":
        _plug_in_baseline()
    serve(port, data, TickingProvisioner())


if __name__ == "__main__":
    main()
