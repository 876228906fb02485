"""Phase 0: run OpenTofu against the Hetzner module in a per-Sovereign workdir.

What it is: the only place catalyst-api starts OpenTofu (`tofu`, or `terraform` in
development). `TofuProvisioner.apply(job, emit)` stages `CATALYST_TOFU_MODULE_PATH` into
`<CATALYST_TOFU_WORKDIR>/<fqdn-dashed>/`, writes the 0600 `tofu.auto.tfvars.json`, runs
`init → plan → apply → output` and streams every line as an `Event` (banners verbatim from
the original, `-json` lines with `progress`). `destroy(job, emit)` tears the same workdir's
resources down.

Usage:

    prov = TofuProvisioner(settings=settings)
    outputs = await prov.apply(job, emit)      # ProvisionError on failure / timeout
    await prov.destroy(job, emit)

Trade-offs: one time budget (`CATALYST_TOFU_TIMEOUT`) covers all steps of a run; timeouts and
cancellation interrupt OpenTofu (SIGINT → SIGTERM → SIGKILL on its process group) so it can
write its state, and the state stays in the workdir so a retry continues from it. The plan file
holds every variable value and is deleted when `apply` ends. Modules: `models` (job, outputs,
error, banners), `tfvars`, `workdir`, `process` (spawn/stream/kill), `jsonui` (line parsing,
progress), `steps` (one run's steps against one deadline), `environment`, `runner`; the plan
preview: `plan` (init + plan in a throwaway workdir) and `estimate` (price table, cost).
"""

from catalyst_api.provisioner.estimate import PriceTable, estimate
from catalyst_api.provisioner.models import (
    GHCR_TOKEN_REQUIRED,
    Phase0Outputs,
    ProvisionError,
    ProvisionJob,
    ProvisionTimedOut,
    RegionSpec,
)
from catalyst_api.provisioner.plan import PlannedChange, TofuPlanner
from catalyst_api.provisioner.runner import STEP_ARGS, StepHook, TofuProvisioner

__all__ = [
    "GHCR_TOKEN_REQUIRED",
    "STEP_ARGS",
    "Phase0Outputs",
    "PlannedChange",
    "PriceTable",
    "ProvisionError",
    "ProvisionJob",
    "ProvisionTimedOut",
    "RegionSpec",
    "StepHook",
    "TofuPlanner",
    "TofuProvisioner",
    "estimate",
]
