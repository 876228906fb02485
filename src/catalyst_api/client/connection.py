"""What every CLI client command shares: the `--api-url` / `--token` options (with their
`CATALYST_API_URL` / `CATALYST_API_TOKEN` fallbacks), the HTTP client they configure, the
error for an answer a command cannot use, and the exit codes."""

from __future__ import annotations

import argparse
from collections.abc import Mapping

import httpx

from .api import DEFAULT_API_URL

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_USAGE",
    "HttpError",
    "add_connection_args",
    "api_client",
    "api_url",
]

EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130


class HttpError(Exception):
    """The API answered something the command cannot use (the message says what)."""


def add_connection_args(parser: argparse.ArgumentParser) -> None:
    """`--api-url` and `--token` on a command's top-level parser."""
    parser.add_argument(
        "--api-url", help=f"base URL (env CATALYST_API_URL, default {DEFAULT_API_URL})"
    )
    parser.add_argument("--token", help="bearer token (env CATALYST_API_TOKEN)")


def api_url(args: argparse.Namespace, environ: Mapping[str, str]) -> str:
    """The API's base URL: `--api-url`, else `CATALYST_API_URL`, else the default."""
    url = args.api_url or environ.get("CATALYST_API_URL", "").strip() or DEFAULT_API_URL
    return str(url).rstrip("/")


def api_client(args: argparse.Namespace, environ: Mapping[str, str]) -> httpx.Client:
    """An HTTP client on the API, with the bearer token when one is given."""
    token = (args.token or environ.get("CATALYST_API_TOKEN", "")).strip()
    headers = {"Authorization": f"Bearer {token}"} if token else None
    return httpx.Client(base_url=api_url(args, environ), timeout=30.0, headers=headers)
