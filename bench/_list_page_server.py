"""catalyst-api as `catalyst-api serve` runs it (same uvicorn configuration), with either today's
event hub or the frozen pre-issue-11 one (`bench/_baseline_hub.py`) plugged in where the wiring
builds it, and a Phase 0 backend that emits one event every `tick` ms for `seconds`, then fails.

`python -m bench._list_page_server PORT DATA_DIR new|baseline`. The deployment's `orgName`
carries the shape: `tick=10;seconds=60`.
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
import sys
from pathlib import Path
from typing import Any

import uvicorn

from catalyst_api import wiring
from catalyst_api.app import create_app
from catalyst_api.config import Settings
from catalyst_api.events import Emit, Event
from catalyst_api.logs import configure_logging
from catalyst_api.provisioner import Phase0Outputs, ProvisionError, ProvisionJob
from catalyst_api.runtime import tune_interpreter
from catalyst_api.serving import uvicorn_config
from catalyst_api.wiring import Overrides


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

    old.DeploymentStream.aload = aload  # type: ignore[attr-defined]
    old.Subscription.next_batch = next_batch  # type: ignore[attr-defined]
    old.EventHub.counts_ready = counts_ready  # type: ignore[attr-defined]
    setattr(wiring, "EventHub", old.EventHub)  # noqa: B010 - the seam the wiring reads


def main() -> None:
    port, data, mode = int(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if mode == "baseline":
        _plug_in_baseline()
    configure_logging("warning")
    tune_interpreter()  # as `catalyst-api serve` does
    settings = Settings.from_env(
        {
            "PORT": str(port),
            "CATALYST_DEPLOYMENTS_DIR": str(data / "deployments"),
            "CATALYST_KUBECONFIGS_DIR": str(data / "kubeconfigs"),
            "CATALYST_EXECUTIONS_DIR": str(data / "executions"),
            "CATALYST_TOFU_WORKDIR": str(data / "tofu"),
            "CATALYST_K8SCACHE_SNAPSHOT_DIR": str(data / "cache"),
        }
    )
    app = create_app(settings, overrides=Overrides(provisioner=TickingProvisioner()))
    uvicorn.Server(uvicorn_config(app, settings, host="127.0.0.1")).run()


if __name__ == "__main__":
    main()
