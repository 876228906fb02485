"""The indexer holds each object as its JSON bytes: memory per object stays near its JSON size,
and what it hands back (decoded objects, stored bytes) is the object it was given."""

from __future__ import annotations

import gc
import tracemalloc
from typing import Any

import orjson

from catalyst_api.k8scache import build_registry
from catalyst_api.k8scache.query import field_matcher, label_matcher
from catalyst_api.k8scache.redact import redact, strip_managed_fields
from catalyst_api.k8scache.store import Indexer

N = 5000


def _pod(i: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"web-{i:06d}-7d9f8b6c5d-x{i % 97:02d}q",
            "namespace": f"ns-{i % 50}",
            "uid": f"6f1c2a7e-{i:04x}-4b1d-9c55-{i:012x}",
            "resourceVersion": str(i + 1),
            "creationTimestamp": "2026-12-01T10:00:00Z",
            "labels": {"app": "web", "pod-template-hash": "7d9f8b6c5d", "shard": str(i % 10)},
            "managedFields": [{"manager": "kubelet", "operation": "Update"}],
        },
        "spec": {
            "nodeName": f"node-{i % 12}",
            "containers": [
                {
                    "name": "web",
                    "image": "ghcr.io/example/web:1.4.2",
                    "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                    "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
                }
            ],
        },
        "status": {"phase": "Running", "podIP": f"10.42.{i // 250 % 250}.{i % 250}"},
    }


def test_memory_per_cached_object_is_at_most_twice_its_json_size() -> None:
    kind = build_registry().get("pod")
    assert kind is not None
    wire = [orjson.dumps(_pod(i)) for i in range(N)]
    json_bytes = sum(len(orjson.dumps(strip_managed_fields(orjson.loads(w)))) for w in wire)
    indexer = Indexer(kind)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for n, raw in enumerate(wire):
            # As the informer does: parsed off the wire, cleaned, upserted.
            indexer.upsert(redact(strip_managed_fields(orjson.loads(raw)), kind), float(n))
        gc.collect()
        growth = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(indexer) == N
    ratio = growth / json_bytes
    assert ratio <= 2.0, f"{growth / N:.0f} bytes per object = {ratio:.2f}x its JSON size"


def test_entries_keep_the_object_sort_order_and_filter_without_decoding() -> None:
    kind = build_registry().get("pod")
    assert kind is not None
    indexer = Indexer(kind)
    pods = [strip_managed_fields(_pod(i)) for i in (3, 1, 2)]
    for p in pods:
        indexer.upsert(p, 1.0)
    expected = sorted(
        pods,
        key=lambda o: f"{o['metadata']['namespace']}/{o['metadata']['name']}",
    )
    assert indexer.items() == [orjson.loads(orjson.dumps(o)) for o in expected]
    entries = indexer.entries()
    assert [orjson.loads(e.raw) for e in entries] == indexer.items()
    assert [e.rv for e in entries] == [int(o["metadata"]["resourceVersion"]) for o in expected]
    assert indexer.max_resource_version() == 4
    shard = label_matcher("shard in (1,3),app=web")
    ns = field_matcher("metadata.namespace=ns-2,metadata.name=web-000002-7d9f8b6c5d-x02q")
    assert shard is not None and ns is not None
    assert [e.namespace for e in entries if shard(e)] == ["ns-1", "ns-3"]
    assert [e.name for e in entries if ns(e)] == ["web-000002-7d9f8b6c5d-x02q"]
    # An update keeps the (cached) order; a delete drops the entry.
    updated = strip_managed_fields(_pod(1)) | {"status": {"phase": "Succeeded"}}
    indexer.upsert(updated, 2.0)
    assert [e.namespace for e in indexer.entries()] == ["ns-1", "ns-2", "ns-3"]
    assert indexer.items()[0]["status"] == {"phase": "Succeeded"}
    assert indexer.delete(updated, 3.0) is not None
    assert [e.namespace for e in indexer.entries()] == ["ns-2", "ns-3"]
