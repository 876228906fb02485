"""catalyst-api as `catalyst-api serve` runs it (same uvicorn configuration), with the k8scache
reading kubeconfigs from `DATA_DIR/kubeconfigs` and snapshots from `DATA_DIR/cache`.

`python -m bench._k8scache_server PORT DATA_DIR`. (`bench._serving.serve` leaves the k8scache's
kubeconfigs directory at its default; this one points it under the data directory.)
"""

from __future__ import annotations

import contextlib
import resource
import sys
from pathlib import Path

import uvicorn

from bench._memory_server import BulkProvisioner
from catalyst_api.app import create_app
from catalyst_api.config import Settings
from catalyst_api.logs import configure_logging
from catalyst_api.runtime import tune_interpreter
from catalyst_api.serving import uvicorn_config
from catalyst_api.wiring import Overrides


def main() -> None:
    port, data = int(sys.argv[1]), Path(sys.argv[2])
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    configure_logging("warning")
    tune_interpreter()
    settings = Settings.from_env(
        {
            "PORT": str(port),
            "CATALYST_DEPLOYMENTS_DIR": str(data / "deployments"),
            "CATALYST_KUBECONFIGS_DIR": str(data / "kubeconfigs"),
            "CATALYST_K8SCACHE_KUBECONFIGS_DIR": str(data / "kubeconfigs"),
            "CATALYST_EXECUTIONS_DIR": str(data / "executions"),
            "CATALYST_TOFU_WORKDIR": str(data / "tofu"),
            "CATALYST_K8SCACHE_SNAPSHOT_DIR": str(data / "cache"),
        }
    )
    app = create_app(settings, overrides=Overrides(provisioner=BulkProvisioner()))
    uvicorn.Server(uvicorn_config(app, settings, host="127.0.0.1")).run()


if __name__ == "__main__":
    main()
