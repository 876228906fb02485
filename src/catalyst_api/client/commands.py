"""The `deployments` subcommands: each takes a `Context` and the parsed args, returns an exit code.

Exit codes: 0 success (a followed run ended `ready` or `destroyed`), 1 a failed run or an HTTP
error, 2 a usage error (raised as `UsageError`). Secrets (the Hetzner token) are read from an
environment variable named on the command line, never from argv itself.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TextIO

from pydantic import SecretStr
from rich.console import Console

from ..wire.shapes import DeploymentState, WireEvent
from .api import ApiClient
from .plain import PlainFollower, event_line, plan_lines, state_lines, table_lines
from .render import LiveFollower, component_table, deployments_table, event_text, state_table
from .sse import follow_log
from .view import RunView

__all__ = ["COMMANDS", "Context", "UsageError", "write_private_file"]

SUCCESS_STATUSES = frozenset({"ready", "destroyed"})


class UsageError(Exception):
    """Bad command-line input (exit code 2)."""


@dataclass
class Context:
    """What every command needs: the API client, output streams and the output mode."""

    client: ApiClient
    out: TextIO
    err: TextIO
    console: Console
    plain: bool
    environ: Mapping[str, str]
    inp: TextIO | None = None

    def say(self, line: str) -> None:
        print(line, file=self.out, flush=True)

    def warn(self, line: str) -> None:
        print(f"catalyst-api: {line}", file=self.err, flush=True)


class _Follower(Protocol):
    def __enter__(self) -> _Follower: ...
    def __exit__(self, *exc: Any) -> None: ...
    def event(self, event: WireEvent) -> None: ...
    def notice(self, message: str) -> None: ...
    def finish(self, state: DeploymentState) -> None: ...


# --- helpers --------------------------------------------------------------------------------------


def _token_from_env(ctx: Context, var: str | None) -> SecretStr | None:
    if var is None:
        return None
    value = ctx.environ.get(var, "").strip()
    if not value:
        raise UsageError(f"environment variable {var} (--hetzner-token-env) is not set or empty")
    return SecretStr(value)


def _load_body(path: str, token: SecretStr | None) -> bytes:
    """The create body from a JSON (sent as is) or YAML file (`-` = stdin)."""
    try:
        raw = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    data: Any
    try:
        data = json.loads(raw)
        is_json = True
    except ValueError:
        import yaml

        is_json = False
        try:
            data = yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            raise UsageError(f"{path} is neither JSON nor YAML: {exc}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path} must hold one JSON/YAML object (the deployment request)")
    if token is None and is_json:
        return raw  # untouched: the server's strict decoding judges it
    if token is not None:
        data["hetznerToken"] = token.get_secret_value()
    return json.dumps(data).encode()


def write_private_file(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically with mode 0600 (temp file in the same dir + rename)."""
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _last_seq(ctx: Context, deployment_id: str) -> int:
    events = ctx.client.events(deployment_id).get("events", [])
    return max((e.get("seq", 0) for e in events), default=0)


def _follow(ctx: Context, deployment_id: str, *, after_seq: int = 0) -> int:
    """Stream the run until `event: done`; exit code from the final status."""
    follower: _Follower = (
        PlainFollower(ctx.out, ctx.err) if ctx.plain else LiveFollower(ctx.console)
    )
    with follower:

        def reconnecting(reason: str, last_seq: int, delay: float) -> None:
            follower.notice(
                f"catalyst-api: connection lost ({reason}); resuming after event #{last_seq} "
                f"in {delay:.1f}s"
            )

        state = follow_log(
            ctx.client,
            deployment_id,
            follower.event,
            after_seq=after_seq,
            on_reconnect=reconnecting,
        )
        follower.finish(state)
    return _exit_code(ctx, state)


def _exit_code(ctx: Context, state: DeploymentState) -> int:
    status = state.get("status", "")
    if status in SUCCESS_STATUSES:
        return 0
    if status == "failed":
        ctx.warn(f"deployment {state.get('id', '')} failed: {state.get('error') or '(no error)'}")
    else:
        ctx.warn(f"stream of {state.get('id', '')} ended while the status is {status!r}")
    return 1


def _print_state(ctx: Context, state: DeploymentState) -> None:
    if ctx.plain:
        for line in state_lines(state):
            ctx.say(line)
        return
    ctx.console.print(state_table(state))
    view = RunView()
    view.finish(state)
    if view.components:
        ctx.console.print(component_table(view))


def _print_accepted(ctx: Context, answer: Mapping[str, Any]) -> None:
    for key in ("id", "status", "phase", "message", "runbook"):
        if answer.get(key):
            ctx.say(f"{key + ':':<9}{answer[key]}")
    if answer.get("streamURL"):
        ctx.say(f"{'stream:':<9}{ctx.client.absolute(str(answer['streamURL']))}")


# --- commands -------------------------------------------------------------------------------------


def _confirmed(ctx: Context, question: str) -> bool:
    """Ask on stderr, read one line of standard input (a terminal or not): y/yes confirms,
    anything else (end of input included) does not."""
    print(f"{question} [y/N] ", end="", file=ctx.err, flush=True)
    source = ctx.inp or sys.stdin
    line = source.readline()
    if not (source.isatty() if hasattr(source, "isatty") else False):
        print(line.strip(), file=ctx.err, flush=True)  # a terminal echoes the answer itself
    return line.strip().lower() in ("y", "yes")


def cmd_plan(ctx: Context, args: argparse.Namespace) -> int:
    body = _load_body(args.file, _token_from_env(ctx, args.hetzner_token_env))
    plan = ctx.client.plan(body)
    if args.json:
        ctx.say(json.dumps(plan, indent=2))
        return 0
    for line in plan_lines(plan):
        ctx.say(line)
    return 0


def cmd_create(ctx: Context, args: argparse.Namespace) -> int:
    if args.plan and not args.yes and args.file == "-":
        raise UsageError("--plan reads its answer from standard input: with `-f -` add --yes")
    body = _load_body(args.file, _token_from_env(ctx, args.hetzner_token_env))
    if args.plan:
        for line in plan_lines(ctx.client.plan(body)):
            ctx.say(line)
        if not args.yes and not _confirmed(ctx, "Create?"):
            ctx.warn("aborted: nothing was created")
            return 1
    created = ctx.client.create(body)
    _print_accepted(ctx, created)
    return _follow(ctx, created["id"]) if args.follow else 0


def cmd_list(ctx: Context, args: argparse.Namespace) -> int:
    more = False
    if args.all:
        states = list(ctx.client.list_all(status=args.status, limit=args.limit))
    else:
        page = ctx.client.list_page(status=args.status, limit=args.limit)
        states, more = page.get("deployments", []), bool(page.get("nextCursor"))
    if args.json:
        ctx.say(json.dumps(states, indent=2))
    elif not states:
        ctx.say("no deployments")
    elif ctx.plain:
        rows = [
            (
                s.get("id", ""),
                s.get("status", ""),
                s.get("sovereignFQDN", ""),
                s.get("startedAt", ""),
                s.get("finishedAt") or "-",
            )
            for s in states
        ]
        for line in table_lines(("ID", "STATUS", "FQDN", "STARTED", "FINISHED"), rows):
            ctx.say(line)
    else:
        ctx.console.print(deployments_table(states))
    if more:
        ctx.warn("more deployments exist: use --all (or a larger --limit)")
    return 0


def cmd_get(ctx: Context, args: argparse.Namespace) -> int:
    state = ctx.client.get(args.id)
    if args.json:
        ctx.say(json.dumps(state, indent=2))
    else:
        _print_state(ctx, state)
    return 0


def cmd_logs(ctx: Context, args: argparse.Namespace) -> int:
    if args.follow:
        return _follow(ctx, args.id)
    answer = ctx.client.events(args.id)
    for event in answer.get("events", []):
        if ctx.plain:
            ctx.say(event_line(event))
        else:
            ctx.console.print(event_text(event))
    _print_state(ctx, answer["state"])
    if not answer.get("done", True):
        ctx.warn("the deployment is still running: use --follow to stream it")
    return 0


def cmd_kubeconfig(ctx: Context, args: argparse.Namespace) -> int:
    data = ctx.client.kubeconfig(args.id)
    if args.output:
        path = Path(args.output)
        try:
            write_private_file(path, data)
        except OSError as exc:
            raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
        ctx.warn(f"kubeconfig of {args.id} written to {path} (mode 0600)")
        return 0
    buffer = getattr(ctx.out, "buffer", None)
    if buffer is not None:
        ctx.out.flush()
        buffer.write(data)
        buffer.flush()
    else:
        ctx.out.write(data.decode("utf-8", "replace"))
        ctx.out.flush()
    return 0


def cmd_retry(ctx: Context, args: argparse.Namespace) -> int:
    token = _token_from_env(ctx, args.hetzner_token_env)
    after = _last_seq(ctx, args.id) if args.follow else 0
    answer = ctx.client.retry(args.id, args.phase, hetzner_token=token)
    _print_accepted(ctx, answer)
    if args.follow and answer.get("status") == "provisioning":
        return _follow(ctx, args.id, after_seq=after)
    return 0


def cmd_destroy(ctx: Context, args: argparse.Namespace) -> int:
    token = _token_from_env(ctx, args.hetzner_token_env)
    after = _last_seq(ctx, args.id) if args.follow else 0
    answer = ctx.client.destroy(args.id, hetzner_token=token)
    _print_accepted(ctx, answer)
    return _follow(ctx, args.id, after_seq=after) if args.follow else 0


COMMANDS = {
    "create": cmd_create,
    "plan": cmd_plan,
    "list": cmd_list,
    "get": cmd_get,
    "logs": cmd_logs,
    "kubeconfig": cmd_kubeconfig,
    "retry": cmd_retry,
    "destroy": cmd_destroy,
}
