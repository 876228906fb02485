"""Durable deployment state on plain files.

What: `RecordStore` keeps one `<id>.json` record per deployment (rewritten atomically when its
state changes); `EventLog` keeps the append-only `<id>.events.jsonl` history (group commit).
Setup: both take the `CATALYST_DEPLOYMENTS_DIR`; `RecordStore.open()` probes it and falls back
to in-memory operation when it is unusable. Trade-off: no database, so a record rewrite is a
full-file write; events never rewrite the record, which is what makes them cheap.
"""

from .eventlog import EventLog
from .ids import is_deployment_id, is_safe_id, new_deployment_id
from .records import RecordStore, StoreError

__all__ = [
    "EventLog",
    "RecordStore",
    "StoreError",
    "is_deployment_id",
    "is_safe_id",
    "new_deployment_id",
]
