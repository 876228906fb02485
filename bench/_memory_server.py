"""catalyst-api as `catalyst-api serve` runs it (same uvicorn configuration), with a Phase 0
backend that emits a given number of events, then fails (so the stream is finished).

`python -m bench._memory_server PORT DATA_DIR`. The deployment's `orgName` carries the shape:
`events=10000;size=430` — that many events with a message of `size` characters.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from bench._serving import serve
from catalyst_api.events import Emit, Event
from catalyst_api.provisioner import Phase0Outputs, ProvisionError, ProvisionJob


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
    serve(int(sys.argv[1]), Path(sys.argv[2]), BulkProvisioner())


if __name__ == "__main__":
    main()
