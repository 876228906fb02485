"""`catalyst-api deployments …`: argument parsing and the top-level error → exit code mapping.

Global options (`--api-url`, `--token`, `--timeout`, `--no-color`, `--plain`) are accepted
before or after the subcommand. Output is plain lines when stdout is not a terminal (or with
`--plain`), a live rich view otherwise. Exit codes: 0 success/ready, 1 failed deployment or
HTTP error, 2 usage error, 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Mapping
from typing import TextIO

from rich.console import Console

from ..wire.kit import PHASE0_STEPS
from .api import DEFAULT_API_URL, ApiClient, ClientError
from .commands import COMMANDS, Context, UsageError

__all__ = ["build_parser", "deployments_main"]

EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130
DEFAULT_TIMEOUT = 30.0


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError("must be greater than 0")
    return value


def _global_options(*, top_level: bool) -> argparse.ArgumentParser:
    """Options valid before and after the subcommand. Only the top level sets defaults, so a
    value given before the subcommand is not reset by the subcommand's parser."""
    parent = argparse.ArgumentParser(add_help=False)

    def default(value: object) -> object:
        return value if top_level else argparse.SUPPRESS

    parent.add_argument(
        "--api-url",
        default=default(None),
        help=f"catalyst-api base URL (env CATALYST_API_URL, default {DEFAULT_API_URL})",
    )
    parent.add_argument(
        "--token",
        default=default(None),
        help="API token or OIDC access token, sent as a bearer (env CATALYST_API_TOKEN)",
    )
    parent.add_argument(
        "--timeout",
        type=_positive_float,
        default=default(None),
        help=f"seconds to wait for each request (default {DEFAULT_TIMEOUT:g})",
    )
    parent.add_argument(
        "--no-color", action="store_true", default=default(False), help="no colours"
    )
    parent.add_argument(
        "--plain",
        action="store_true",
        default=default(False),
        help="plain lines, one per event (automatic when stdout is not a terminal)",
    )
    return parent


def build_parser() -> argparse.ArgumentParser:
    """The `deployments` argument parser."""
    parser = argparse.ArgumentParser(
        prog="catalyst-api deployments",
        description="Create, follow and manage deployments on a running catalyst-api.",
        parents=[_global_options(top_level=True)],
    )
    common = _global_options(top_level=False)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help_text, description=help_text, parents=[common])

    token_help = "name of an environment variable holding the Hetzner token (never the token)"

    create = add("create", "create a deployment from a JSON or YAML request file")
    create.add_argument("-f", "--file", required=True, help="request file (`-` = stdin)")
    create.add_argument("--hetzner-token-env", metavar="VAR", help=token_help)
    create.add_argument("--follow", action="store_true", help="stream the run until it ends")
    create.add_argument(
        "--plan",
        action="store_true",
        help="show the plan and its cost estimate first, then ask before creating (the answer "
        "is read from standard input)",
    )
    create.add_argument("--yes", action="store_true", help="with --plan: create without asking")

    plan = add("plan", "show what a create would provision and its estimated cost")
    plan.add_argument("-f", "--file", required=True, help="request file (`-` = stdin)")
    plan.add_argument("--hetzner-token-env", metavar="VAR", help=token_help)
    plan.add_argument("--json", action="store_true", help="print the server's JSON answer")

    lister = add("list", "list deployments, newest first")
    lister.add_argument("--status", help="only deployments with this status")
    lister.add_argument("--limit", type=_positive_int, help="page size (server default 50)")
    lister.add_argument("--all", action="store_true", help="follow every page")
    lister.add_argument("--json", action="store_true", help="print the JSON array")

    get = add("get", "show one deployment")
    get.add_argument("id")
    get.add_argument("--json", action="store_true", help="print the state object as JSON")

    logs = add("logs", "print the events of a deployment")
    logs.add_argument("id")
    logs.add_argument("--follow", action="store_true", help="stream until the run ends")

    kubeconfig = add("kubeconfig", "download the new cluster's kubeconfig")
    kubeconfig.add_argument("id")
    kubeconfig.add_argument("-o", "--output", help="write to this file (mode 0600)")

    retry = add("retry", "retry a phase")
    retry.add_argument("id")
    retry.add_argument("phase", help=f"a Phase 0 step ({', '.join(PHASE0_STEPS)}) or component")
    retry.add_argument("--hetzner-token-env", metavar="VAR", help=token_help)
    retry.add_argument("--follow", action="store_true", help="stream the retried run")

    destroy = add("destroy", "destroy the Sovereign's cloud resources and DNS")
    destroy.add_argument("id")
    destroy.add_argument("--hetzner-token-env", metavar="VAR", help=token_help)
    destroy.add_argument("--follow", action="store_true", help="stream until destroyed")
    return parser


def _is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def deployments_main(
    argv: list[str],
    *,
    environ: Mapping[str, str] | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    stdin: TextIO | None = None,
) -> int:
    """Run `catalyst-api deployments <argv>`; returns the exit code (never raises SystemExit).
    `stdin` answers `create --plan`'s question (default: the process's standard input)."""
    env = os.environ if environ is None else environ
    out = stdout if stdout is not None else sys.stdout
    err = stderr if stderr is not None else sys.stderr
    parser = build_parser()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            args = parser.parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    api_url = (args.api_url or env.get("CATALYST_API_URL", "").strip() or DEFAULT_API_URL).rstrip(
        "/"
    )
    if not api_url.startswith(("http://", "https://")):
        print(f"catalyst-api: --api-url must be an http(s) URL, got {api_url!r}", file=err)
        return EXIT_USAGE
    plain = args.plain or not _is_terminal(out) or env.get("TERM") == "dumb"
    console = Console(file=out, no_color=args.no_color or None, highlight=False)
    timeout = args.timeout or DEFAULT_TIMEOUT
    try:
        token = (args.token or env.get("CATALYST_API_TOKEN", "")).strip()
        with ApiClient(api_url, timeout=timeout, token=token) as client:
            ctx = Context(client, out, err, console, plain, env, stdin)
            return COMMANDS[args.command](ctx, args)
    except UsageError as exc:
        print(f"catalyst-api: {exc}", file=err)
        return EXIT_USAGE
    except ClientError as exc:
        print(f"catalyst-api: {exc}", file=err)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("catalyst-api: interrupted", file=err)
        return EXIT_INTERRUPTED
