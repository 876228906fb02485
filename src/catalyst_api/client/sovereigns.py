"""`catalyst-api sovereigns list|watch`: read a Sovereign's objects from the k8scache.

- `list ID KIND [-n NS] [-l SELECTOR] [-o json|wide]` follows every page of
  `GET /api/v1/sovereigns/{id}/k8s/{kind}` and prints a table (NAMESPACE NAME AGE; `wide` adds
  the resourceVersion and labels) or the JSON array of objects.
- `watch ID [--kinds a,b]` opens the SSE stream with the initial state: on a terminal a rich
  table updates live; otherwise one plain line per event (`TYPE kind namespace/name`).
Exit codes as `deployments`: 0, 1 HTTP error, 2 usage, 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, TextIO

import httpx
import orjson
from rich.console import Console
from rich.live import Live
from rich.table import Table

from .connection import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    HttpError,
    add_connection_args,
    api_client,
)

__all__ = ["sovereigns_main"]

Obj = dict[str, Any]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="catalyst-api sovereigns", description="Read a Sovereign's objects from the k8scache."
    )
    add_connection_args(parser)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    lister = sub.add_parser("list", help="list cached objects of one kind")
    lister.add_argument("id")
    lister.add_argument("kind")
    lister.add_argument("-n", "--namespace", default="")
    lister.add_argument("-l", "--selector", default="", help="label selector")
    lister.add_argument("-o", "--output", choices=("json", "wide"), default=None)
    watch = sub.add_parser("watch", help="follow changes (initial state first)")
    watch.add_argument("id")
    watch.add_argument("--kinds", default="", help="comma-separated kinds (default: all)")
    watch.add_argument("--plain", action="store_true", help="plain lines even on a terminal")
    return parser


def _meta(obj: Obj) -> Obj:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _age(obj: Obj) -> str:
    raw = _meta(obj).get("creationTimestamp")
    try:
        created = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        return "-"
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    seconds = int((datetime.now(UTC) - created).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{max(seconds, 0)}s"


def _check(resp: httpx.Response) -> None:
    if resp.status_code >= 400:
        text = resp.text.strip()
        raise HttpError(f"HTTP {resp.status_code}: {text}")


def _list(client: httpx.Client, args: argparse.Namespace) -> list[Obj]:
    items: list[Obj] = []
    params = {"ns": args.namespace, "labelSelector": args.selector, "limit": "5000"}
    token = ""
    while True:
        query = {k: v for k, v in {**params, "continue": token}.items() if v}
        resp = client.get(f"/api/v1/sovereigns/{args.id}/k8s/{args.kind}", params=query)
        _check(resp)
        body = resp.json()
        items.extend(body.get("items") or [])
        token = body.get("continue") or ""
        if not token:
            return items


def _print_list(items: list[Obj], output: str | None, out: TextIO) -> None:
    if output == "json":
        out.write(orjson.dumps(items, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    rows = [("NAMESPACE", "NAME", "AGE") + (("RESOURCEVERSION", "LABELS") if output else ())]
    for obj in items:
        meta = _meta(obj)
        row: tuple[str, ...] = (str(meta.get("namespace") or ""), str(meta.get("name")), _age(obj))
        if output == "wide":
            labels = meta.get("labels") or {}
            row += (
                str(meta.get("resourceVersion") or ""),
                ",".join(f"{k}={v}" for k, v in labels.items()),
            )
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        out.write("   ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() + "\n")


def _events(client: httpx.Client, args: argparse.Namespace) -> Iterator[Obj]:
    params = {"initialState": "1", **({"kinds": args.kinds} if args.kinds else {})}
    url = f"/api/v1/sovereigns/{args.id}/k8s/stream"
    with client.stream("GET", url, params=params, timeout=httpx.Timeout(10, read=None)) as resp:
        if resp.status_code >= 400:
            resp.read()
            _check(resp)
        event = ""
        for line in resp.iter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                data = orjson.loads(line[6:])
                yield {"type": "RESYNC", **data} if event == "resync" else data
                event = ""


def _watch(client: httpx.Client, args: argparse.Namespace, out: TextIO, live: bool) -> int:
    if not live:
        for ev in _events(client, args):
            if ev["type"] == "RESYNC":
                out.write("RESYNC (events were dropped; reopen to refetch)\n")
            else:
                meta = _meta(ev.get("object") or {})
                where = f"{meta.get('namespace') or ''}/{meta.get('name')}".lstrip("/")
                out.write(f"{ev['type']} {ev['kind']} {where}\n")
            out.flush()
        return 0
    rows: dict[str, tuple[str, str, str, str]] = {}

    def table() -> Table:
        t = Table("KIND", "NAMESPACE", "NAME", "LAST")
        for key in sorted(rows):
            t.add_row(*rows[key])
        return t

    console = Console(file=out)
    with Live(table(), console=console, auto_refresh=False) as view:
        for ev in _events(client, args):
            if ev["type"] == "RESYNC":
                continue
            meta = _meta(ev.get("object") or {})
            ns, name = str(meta.get("namespace") or ""), str(meta.get("name"))
            key = f"{ev['kind']}:{ns}/{name}"
            if ev["type"] == "DELETED":
                rows.pop(key, None)
            else:
                rows[key] = (ev["kind"], ns, name, ev["type"])
            view.update(table(), refresh=True)
    return 0


def sovereigns_main(
    argv: list[str],
    *,
    environ: Mapping[str, str] | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run `catalyst-api sovereigns <argv>`; returns the exit code."""
    env = os.environ if environ is None else environ
    out = stdout if stdout is not None else sys.stdout
    err = stderr if stderr is not None else sys.stderr
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            args = build_parser().parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        with api_client(args, env) as client:
            if args.command == "list":
                _print_list(_list(client, args), args.output, out)
                return 0
            live = not args.plain and bool(getattr(out, "isatty", lambda: False)())
            return _watch(client, args, out, live)
    except (HttpError, httpx.HTTPError) as exc:
        print(f"catalyst-api: {exc}", file=err)
        return EXIT_FAILED
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
