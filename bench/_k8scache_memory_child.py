"""Child process of `bench_k8scache_memory`: `python -m bench._k8scache_memory_child N MODE`.

MODE `cache`: N Pods, each serialized to JSON and parsed back (as they arrive off the wire),
cleaned as the informer/hydration does and upserted into the cache's indexer. MODE `json`: the
same N JSON documents kept as exact-size strings (the baseline: the JSON, resident). Prints one
JSON line: resident growth over the loop and the JSON bytes loaded.
"""

from __future__ import annotations

import gc
import sys
import time

import orjson
import psutil

from bench._k8sobjects import pod
from catalyst_api.k8scache import build_registry
from catalyst_api.k8scache.redact import redact, strip_managed_fields
from catalyst_api.k8scache.store import Indexer


def main() -> None:
    n, mode = int(sys.argv[1]), sys.argv[2]
    kind = build_registry().get("pod")
    assert kind is not None
    indexer = Indexer(kind)
    kept: list[str] = []
    gc.collect()
    me = psutil.Process()
    before = me.memory_info().rss
    json_bytes = 0
    now = time.time()
    for i in range(n):
        raw = orjson.dumps(pod(i, ns=f"ns-{i % 50}", rv=i + 1))
        json_bytes += len(raw)
        if mode == "json":
            # As an exact-size str: orjson's bytes keep a 4 KiB allocation each.
            kept.append(raw.decode())
        else:
            indexer.upsert(redact(strip_managed_fields(orjson.loads(raw)), kind), now)
    gc.collect()
    after = me.memory_info().rss
    assert len(indexer) == (n if mode == "cache" else 0)
    print(orjson.dumps({"growth": after - before, "json_bytes": json_bytes, "n": n}).decode())


if __name__ == "__main__":
    main()
