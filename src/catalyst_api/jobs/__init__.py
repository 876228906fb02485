"""Jobs / Executions / LogLines: what the UI shows per bootstrap-kit component (spec §9).

What: `JobsStore` keeps `<CATALYST_EXECUTIONS_DIR>/<depId>/index.json` and `<execId>.log`;
`JobsBridges` turns Phase 1 events (and watch snapshots, "seeds") into jobs, executions and
log lines; `JobsService` answers the read endpoints.
Setup: `wiring.build_services` opens the store (unusable directory → no jobs service, the
endpoints answer 503) and forwards every emitted event to `JobsBridges.forward`.
With `CATALYST_DATABASE_URL` the same surface lives in PostgreSQL (`pgstore.PgJobsStore`), so
every replica answers the jobs endpoints alike (the port: `ports.JobsStorage`).
Trade-off: events reach disk through a per-deployment queue applied in batches off the event
loop, so emitting never blocks; reads may trail an emit by a few milliseconds.
"""

from .bridge import DeploymentBridge, job_status_for, log_level_for
from .index import ExecutionNotFound, InvalidJobsRequest, JobNotFound, JobsError, JobsIndex
from .models import (
    BATCH_BOOTSTRAP_KIT,
    BATCH_DAY2,
    INSTALL_PREFIX,
    MUTATION_PREFIX,
    Execution,
    Job,
    LogLine,
)
from .ports import JobsStorage
from .service import JobsBridges, JobsService, SeedItems
from .store import JobsStore

__all__ = [
    "BATCH_BOOTSTRAP_KIT",
    "BATCH_DAY2",
    "INSTALL_PREFIX",
    "MUTATION_PREFIX",
    "DeploymentBridge",
    "Execution",
    "ExecutionNotFound",
    "InvalidJobsRequest",
    "Job",
    "JobNotFound",
    "JobsBridges",
    "JobsError",
    "JobsIndex",
    "JobsService",
    "JobsStorage",
    "JobsStore",
    "LogLine",
    "SeedItems",
    "job_status_for",
    "log_level_for",
]
