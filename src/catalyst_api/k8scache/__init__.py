"""k8scache: a live, multi-cluster view of every Sovereign (spec platform §6, issue 12).

What: one informer per (cluster, kind) over every kubeconfig in
`CATALYST_K8SCACHE_KUBECONFIGS_DIR` keeps an in-memory indexer current (list, then watch;
resume; relist on 410); events fan out to stream subscribers; disk snapshots make a cold start
serve lists at once; SubjectAccessReview gates reads when a user header is present.
Usage: `async with K8sCache(...) as cache` (the wiring does it), then `cache.objects()`,
`cache.subscribe()`, `cache.register(id)` after a kubeconfig PUT, `cache.remove(id)` after a
destroy. The HTTP surface is `api/k8scache.py`.
Trade-offs: objects are kept as plain JSON dicts, redacted and stripped of `managedFields` on
ingest (nothing downstream can leak a secret value; memory holds only what readers see); a
slow stream subscriber loses its oldest events but is told to resync; snapshots are per replica.
"""

from .cache import CacheTimings, ClusterView, K8sCache
from .fanout import RESYNC, Subscriber
from .kinds import DEFAULT_KINDS, Kind, KindRegistry, build_registry, parse_kinds_csv
from .kindsource import load_registry
from .metrics import CacheMetrics
from .query import SelectorError
from .redact import REDACTED, redact
from .types import CacheEvent, HydrateOutcome

__all__ = [
    "DEFAULT_KINDS",
    "REDACTED",
    "RESYNC",
    "CacheEvent",
    "CacheMetrics",
    "CacheTimings",
    "ClusterView",
    "HydrateOutcome",
    "K8sCache",
    "Kind",
    "KindRegistry",
    "SelectorError",
    "Subscriber",
    "build_registry",
    "load_registry",
    "parse_kinds_csv",
    "redact",
]
