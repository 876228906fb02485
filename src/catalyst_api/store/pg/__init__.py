"""PostgreSQL backend of the store, chosen by `CATALYST_DATABASE_URL`.

What: `Database` (pooled psycopg 3 connections: async for the loop, sync for worker threads),
numbered SQL migrations applied under an advisory lock (`migrate`), `PgRecordStore` and
`PgEventLog` with the same surface as the flat-file `RecordStore` and `EventLog`.
Trade-off: several replicas can share one database; the flat files stay the embedded default.
"""

from .database import Database, redact_url
from .eventlog import CHANNEL as EVENTS_CHANNEL
from .eventlog import PgEventLog
from .importer import ImportReport, import_directory
from .leases import RUNS_CHANNEL, PgLeases
from .listener import PgListener
from .migrate import MIGRATIONS_LOCK, applied_versions, migrate, migration_files
from .records import RECORDS_CHANNEL, PgRecordStore
from .reservations import PgPoolReservations
from .vault import KUBECONFIGS_CHANNEL, PgKubeconfigVault

__all__ = [
    "EVENTS_CHANNEL",
    "KUBECONFIGS_CHANNEL",
    "MIGRATIONS_LOCK",
    "RECORDS_CHANNEL",
    "RUNS_CHANNEL",
    "Database",
    "ImportReport",
    "PgEventLog",
    "PgKubeconfigVault",
    "PgLeases",
    "PgListener",
    "PgPoolReservations",
    "PgRecordStore",
    "applied_versions",
    "import_directory",
    "migrate",
    "migration_files",
    "redact_url",
]
