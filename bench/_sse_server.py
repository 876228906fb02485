"""catalyst-api with a benchmark Phase 0 backend that emits timestamped events at a set rate.

`python -m bench._sse_server PORT DATA_DIR`. The deployment's `orgName` carries the load shape:
`rate=20;duration=10;subscribers=1000` — the backend waits until that many SSE subscribers are
attached (to this replica: with `CATALYST_DATABASE_URL` set, bench_ha runs two), emits `rate`
events/s for `duration` s (each message is the wall-clock emit time), then fails the run on
purpose so every stream ends with `event: done`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

import uvicorn

from catalyst_api.app import create_app
from catalyst_api.config import Settings
from catalyst_api.events import Emit, Event
from catalyst_api.logs import configure_logging
from catalyst_api.provisioner import Phase0Outputs, ProvisionError, ProvisionJob
from catalyst_api.runtime import tune_interpreter
from catalyst_api.wiring import Overrides, Services


class RateProvisioner:
    def __init__(self) -> None:
        self.services: Services | None = None

    async def apply(self, job: ProvisionJob, emit: Emit) -> Phase0Outputs:
        shape = dict(kv.split("=") for kv in job.org_name.split(";"))
        rate, duration = float(shape["rate"]), float(shape["duration"])
        wanted = int(shape["subscribers"])
        assert self.services is not None
        stream = self.services.hub.stream(job.deployment_id)
        deadline = time.monotonic() + 120
        while stream.subscriber_count < wanted and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        total = int(rate * duration)
        start = time.monotonic()
        for i in range(total):
            target = start + i / rate
            delay = target - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            emit(Event(phase="tofu", message=f"{time.time():.6f}"))
        raise ProvisionError(f"bench done: {total} events")

    async def destroy(self, job: ProvisionJob, emit: Emit) -> None:
        return None

    def has_state(self, fqdn: str, *, workdir: str = "") -> bool:
        return False


def main() -> None:
    port, data = int(sys.argv[1]), Path(sys.argv[2])
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    configure_logging("warning")
    tune_interpreter()  # as `catalyst-api serve` does
    settings = Settings.from_env(
        {
            "CATALYST_DEPLOYMENTS_DIR": str(data / "deployments"),
            "CATALYST_KUBECONFIGS_DIR": str(data / "kubeconfigs"),
            "CATALYST_EXECUTIONS_DIR": str(data / "executions"),
            # bench_ha: replicas over PostgreSQL
            "CATALYST_DATABASE_URL": os.environ.get("CATALYST_DATABASE_URL", ""),
        }
    )
    provisioner = RateProvisioner()

    def attach(services: Services, _stack: Any) -> None:
        provisioner.services = services

    overrides = Overrides(provisioner=provisioner, extra_setup=[attach])
    uvicorn.run(
        create_app(settings, overrides=overrides),
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
        backlog=4096,
    )


if __name__ == "__main__":
    main()
