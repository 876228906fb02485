"""`catalyst-api infra show|add-pool|scale-pool|delete`: the Sovereign Infrastructure page from
a terminal, and the Day-2 loop through it.

- `show ID [-o json]`: the topology as an indented tree (regions, clusters, pools, nodes, load
  balancers, vclusters, networks and peerings, with their status) or the raw JSON.
- `add-pool ID --name N [--cluster C] [--sku S] [--size N] [--region R] [--role R] [--wait]`
  writes a NodePoolClaim (`POST …/clusters/{C}/pools`); `scale-pool ID POOL --size N` patches
  one (`PATCH …/pools/{POOL}`); `delete ID KIND NAME` removes one (`DELETE …/{KIND}/{NAME}`,
  any kind alias) and prints the cascade preview.
- `--wait` follows the mutation's audit job until Crossplane reports the claim Ready
  (exit 0) or failed (exit 1); `--wait-timeout` bounds it (still pending → exit 1).
Exit codes as `deployments`: 0, 1 HTTP error or failed claim, 2 usage, 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Mapping
from typing import Any, TextIO
from urllib.parse import quote

import httpx
import orjson

from .connection import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    HttpError,
    add_connection_args,
    api_client,
    api_url,
)

__all__ = ["infra_main"]

Obj = dict[str, Any]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="catalyst-api infra", description="A Sovereign's infrastructure and Day-2 changes."
    )
    add_connection_args(parser)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    show = sub.add_parser("show", help="the topology (regions, clusters, pools, nodes, ...)")
    show.add_argument("id")
    show.add_argument("-o", "--output", choices=("json",), default=None)
    add = sub.add_parser("add-pool", help="add a node pool (a NodePoolClaim)")
    add.add_argument("id")
    add.add_argument("--name", required=True)
    add.add_argument("--cluster", default="", help="cluster id (default: the first cluster)")
    add.add_argument("--sku", default="")
    add.add_argument("--size", type=int, default=1, help="desired size (default 1)")
    add.add_argument("--region", default="")
    add.add_argument("--role", default="worker")
    scale = sub.add_parser("scale-pool", help="change a node pool's size and/or sku")
    scale.add_argument("id")
    scale.add_argument("pool")
    scale.add_argument("--size", type=int, default=None)
    scale.add_argument("--sku", default="")
    delete = sub.add_parser("delete", help="delete a resource's claim (any kind alias)")
    delete.add_argument("id")
    delete.add_argument("kind", help="regions, clusters, vclusters, pools, lb, peerings, ...")
    delete.add_argument("name", help="the id the topology shows, its name or the claim name")
    for cmd in (add, scale, delete):
        cmd.add_argument("--wait", action="store_true", help="follow the job to its end")
        cmd.add_argument("--wait-timeout", type=float, default=120.0, help="seconds (120)")
    return parser


def _check(resp: httpx.Response) -> Obj:
    body: Obj = {}
    try:
        parsed = resp.json()
        body = parsed if isinstance(parsed, dict) else {}
    except ValueError:
        pass
    if resp.status_code >= 400:
        code = body.get("error") or resp.text.strip()
        detail = f": {body['detail']}" if body.get("detail") else ""
        raise HttpError(f"HTTP {resp.status_code} {code}{detail}")
    return body


def _base(dep: str) -> str:
    return f"/api/v1/deployments/{quote(dep, safe='')}/infrastructure"


def _line(out: TextIO, depth: int, *parts: object) -> None:
    out.write("  " * depth + " ".join(str(p) for p in parts if p != "") + "\n")


def print_topology(body: Mapping[str, Any], out: TextIO) -> None:
    """The topology as an indented tree, one resource per line with its status last."""
    for tenant in body.get("cloud") or []:
        project = f"(project {tenant['projectID']})" if tenant.get("projectID") else ""
        _line(out, 0, "CLOUD", tenant["provider"], project, tenant["status"])
    topo = body.get("topology") or {}
    _line(out, 0, "PATTERN", topo.get("pattern", ""))
    for rg in topo.get("regions") or []:
        sizes = f"{rg['skuCP']}/{rg['skuWorker']} x{rg['workerCount']}"
        _line(out, 0, "REGION", rg["id"], sizes, rg["status"])
        for c in rg["clusters"]:
            _line(out, 1, "CLUSTER", c["id"], c["name"], f"nodes={c['nodeCount']}", c["status"])
            for p in c["nodePools"]:
                size = f"{p['currentSize']}/{p['desiredSize']}"
                _line(out, 2, "POOL", p["id"], p["role"], p["sku"], size, p["status"])
            for n in c["nodes"]:
                _line(out, 2, "NODE", n["id"], n["role"], n["ip"] or "-", n["status"])
            for lb in c["loadBalancers"]:
                _line(out, 2, "LB", lb["id"], lb["publicIP"] or "-", lb["ports"], lb["status"])
            for v in c["vclusters"]:
                _line(out, 2, "VCLUSTER", v["id"], v["role"], v["status"])
        for net in rg["networks"]:
            _line(out, 1, "NETWORK", net["id"], net["name"], net["status"])
            for pr in net["peerings"]:
                _line(out, 2, "PEERING", pr["id"], pr["vpcPair"], pr["status"])
    pvcs = (body.get("storage") or {}).get("pvcs") or []
    _line(out, 0, "PVCS", len(pvcs))


def _first_cluster(client: httpx.Client, dep: str) -> str:
    topo = _check(client.get(f"{_base(dep)}/topology"))
    for rg in (topo.get("topology") or {}).get("regions") or []:
        for c in rg["clusters"]:
            return str(c["id"])
    raise HttpError("the deployment has no cluster yet: give --cluster")


def _wait(client: httpx.Client, dep: str, job_id: str, timeout: float, out: TextIO) -> int:
    """Follow the audit job until it ends; print its log lines as they come."""
    deadline = time.monotonic() + timeout
    printed = 0
    status = ""
    while True:
        job = _check(
            client.get(f"/api/v1/deployments/{quote(dep, safe='')}/jobs/{quote(job_id, safe='')}")
        )
        status = str(job["job"]["status"])
        exec_id = job["job"].get("latestExecutionId")
        if exec_id:
            page = _check(
                client.get(
                    f"/api/v1/actions/executions/{exec_id}/logs",
                    params={"fromLine": str(printed + 1)},
                )
            )
            for line in page.get("lines") or []:
                out.write(f"  {line['level']:<5} {line['message']}\n")
                printed = max(printed, int(line["lineNumber"]))
        if status in ("succeeded", "failed"):
            out.write(f"job {status}\n")
            return 0 if status == "succeeded" else EXIT_FAILED
        if time.monotonic() > deadline:
            out.write(f"job still {status} after {timeout:g}s\n")
            return EXIT_FAILED
        time.sleep(0.5)


def _submitted(client: httpx.Client, args: argparse.Namespace, answer: Obj, out: TextIO) -> int:
    out.write(
        f"{answer['status']}: {answer['xrcKind']} {answer['xrcName']} (job {answer['jobId']})\n"
    )
    for row in answer.get("cascade") or []:
        note = f" — {row['note']}" if row.get("note") else ""
        out.write(f"  cascade: {row['kind']} {row['id']}{note}\n")
    if getattr(args, "wait", False):
        job = str(answer["jobId"]).split(":", 1)[-1]
        return _wait(client, args.id, job, args.wait_timeout, out)
    return 0


def _run(client: httpx.Client, args: argparse.Namespace, out: TextIO) -> int:
    base = _base(args.id)
    if args.command == "show":
        body = _check(client.get(f"{base}/topology"))
        if args.output == "json":
            out.write(orjson.dumps(body, option=orjson.OPT_INDENT_2).decode() + "\n")
        else:
            print_topology(body, out)
        return 0
    if args.command == "add-pool":
        cluster = args.cluster or _first_cluster(client, args.id)
        payload = {
            "name": args.name,
            "sku": args.sku,
            "desiredSize": args.size,
            "region": args.region,
            "role": args.role,
        }
        answer = _check(
            client.post(f"{base}/clusters/{quote(cluster, safe='')}/pools", json=payload)
        )
        return _submitted(client, args, answer, out)
    if args.command == "scale-pool":
        patch: Obj = {}
        if args.size is not None:
            patch["desiredSize"] = args.size
        if args.sku:
            patch["sku"] = args.sku
        answer = _check(client.patch(f"{base}/pools/{quote(args.pool, safe='')}", json=patch))
        return _submitted(client, args, answer, out)
    kind, name = quote(args.kind, safe=""), quote(args.name, safe="")
    return _submitted(client, args, _check(client.delete(f"{base}/{kind}/{name}")), out)


def infra_main(
    argv: list[str], *, env: Mapping[str, str] | None = None, out: TextIO | None = None
) -> int:
    """Run one `infra` command; returns the exit code."""
    environ = os.environ if env is None else env
    stdout = out or sys.stdout
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0) and EXIT_USAGE
    url = api_url(args, environ)
    try:
        with api_client(args, environ) as client:
            return _run(client, args, stdout)
    except HttpError as exc:
        sys.stderr.write(f"catalyst-api infra: {exc}\n")
        return EXIT_FAILED
    except httpx.TransportError as exc:
        sys.stderr.write(f"catalyst-api infra: cannot reach {url}: {exc}\n")
        return EXIT_FAILED
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
