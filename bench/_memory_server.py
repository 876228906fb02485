"""catalyst-api as `catalyst-api serve` runs it (same uvicorn configuration), with a Phase 0
backend that emits a given number of events, then fails (so the stream is finished).

`python -m bench._memory_server PORT DATA_DIR`. The deployment's `orgName` carries the shape:
`events=10000;size=430` — that many events with a message of `size` characters.
"""

from __future__ import annotations

import contextlib
import resource
import sys
from pathlib import Path
from typing import Any

import uvicorn

from catalyst_api.app import create_app
from catalyst_api.config import Settings
from catalyst_api.events import Emit, Event
from catalyst_api.logs import configure_logging
from catalyst_api.provisioner import Phase0Outputs, ProvisionError, ProvisionJob
from catalyst_api.runtime import tune_interpreter
from catalyst_api.serving import uvicorn_config
from catalyst_api.wiring import Overrides


class BulkProvisioner:
    async def apply(self, job: ProvisionJob, emit: Emit) -> Phase0Outputs:
        shape = dict(kv.split("=") for kv in job.org_name.split(";"))
        count, size = int(shape["events"]), int(shape["size"])
        for i in range(count):
            emit(Event(phase="tofu", message=f"{i} " + "m" * size))
        raise ProvisionError(f"bench done: {count} events")

    async def destroy(self, job: ProvisionJob, emit: Emit) -> None:
        return None

    def has_state(self, fqdn: str, **_: Any) -> bool:
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
            "PORT": str(port),
            "CATALYST_DEPLOYMENTS_DIR": str(data / "deployments"),
            "CATALYST_KUBECONFIGS_DIR": str(data / "kubeconfigs"),
            "CATALYST_EXECUTIONS_DIR": str(data / "executions"),
            "CATALYST_TOFU_WORKDIR": str(data / "tofu"),
            "CATALYST_K8SCACHE_SNAPSHOT_DIR": str(data / "cache"),
        }
    )
    app = create_app(settings, overrides=Overrides(provisioner=BulkProvisioner()))
    uvicorn.Server(uvicorn_config(app, settings, host="127.0.0.1")).run()


if __name__ == "__main__":
    main()
