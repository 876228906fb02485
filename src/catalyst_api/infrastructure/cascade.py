"""The DELETE cascade preview: what else goes when a resource of the topology goes.

The target is found by the id the page shows (`region-fsn1`, `pool-worker-fsn1`, a claim
name), by its name (`fsn1`), or by the claim names the delete resolves to — whatever alias the
path used, since the kind is canonical by then (the original matched only singular kinds and
fell back to one generic row: spec §13 item 10). Children: a region's clusters with their pools,
nodes and load balancers, then its networks and peerings; a cluster's pools, nodes and load
balancers; a pool's nodes. A target without children is one row for itself; a target not
found is the original's generic row.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

__all__ = ["cascade_for"]

Obj = dict[str, Any]

_FALLBACK_NOTE = (
    "no observable child resources — proceeding will reap the underlying cloud resources"
)


def _row(kind: str, item: Obj, note: str = "") -> Obj:
    row: Obj = {"kind": kind, "id": item.get("id", ""), "name": item.get("name", "")}
    if note:
        row["note"] = note
    return row


def _matches(item: Obj, keys: set[str]) -> bool:
    return bool(keys & {str(item.get("id", "")), str(item.get("name", ""))})


def _cluster_rows(cluster: Obj, notes: bool) -> list[Obj]:
    rows = [
        _row("nodePool", p, "node pool will be deleted" if notes else "")
        for p in cluster["nodePools"]
    ]
    rows += [
        _row("node", n, "workloads will be drained" if notes else "") for n in cluster["nodes"]
    ]
    rows += [
        _row("lb", lb, "load balancer will be released" if notes else "")
        for lb in cluster["loadBalancers"]
    ]
    return rows


def _walk(topology: Obj) -> Iterator[tuple[str, Obj, Obj | None]]:
    """(kind, item, owning cluster) for every row of the topology."""
    for rg in topology["topology"]["regions"]:
        yield "region", rg, None
        for c in rg["clusters"]:
            yield "cluster", c, None
            for p in c["nodePools"]:
                yield "pool", p, c
            for n in c["nodes"]:
                yield "node", n, c
            for lb in c["loadBalancers"]:
                yield "lb", lb, c
            for v in c["vclusters"]:
                yield "vcluster", v, c
        for net in rg["networks"]:
            for pr in net["peerings"]:
                yield "peering", pr, None


def cascade_for(kind: str, resource_id: str, claim_names: list[str], topology: Obj) -> list[Obj]:
    """Rows for the DELETE response (`kind` is canonical: region, cluster, pool, …)."""
    keys = {resource_id, *claim_names}
    if kind == "region":
        keys.add(f"region-{resource_id}")
    for row_kind, item, owner in _walk(topology):
        if row_kind != kind or not _matches(item, keys):
            continue
        rows: list[Obj] = []
        if kind == "region":
            for c in item["clusters"]:
                rows.append(_row("cluster", c, "cluster will drain + be reaped"))
                rows += _cluster_rows(c, notes=True)
            for net in item["networks"]:
                rows.append(_row("network", net, "VPC will be released; peerings disconnected"))
                rows += [_row("peering", p, "peering will be torn down") for p in net["peerings"]]
        elif kind == "cluster":
            rows = _cluster_rows(item, notes=False)
        elif kind == "pool" and owner is not None:
            rows = [
                _row("node", n, "node will be drained + cordoned")
                for n in owner["nodes"]
                if n.get("nodePoolID") == item["id"]
            ]
        return rows or [_row(kind, item, "no child resources")]
    return [{"kind": kind, "id": resource_id, "name": resource_id, "note": _FALLBACK_NOTE}]
