"""`catalyst-api fake-kube`: serve a fake kube-apiserver until SIGINT/SIGTERM.

    catalyst-api fake-kube --port N --kubeconfig-out PATH [--token T] [--sar-policy FILE]
                           [--tls | --no-tls] [--host H] [--history-limit N]

Once listening it writes the kubeconfig (mode 0600: server URL, bearer token, and the CA) and
prints its path on stdout. Without `--token` a random token is generated; it is only ever
written to that kubeconfig. It serves https by default, because kubectl (client-go) sends
bearer tokens only over https; `--no-tls` serves plain http.

`--sar-policy FILE` (YAML or JSON) decides SubjectAccessReviews; without it all are allowed::

    {"users": {"alice": [{"verbs": ["get", "list"], "groups": [""],
                          "resources": ["pods"], "namespaces": ["default"]}]},
     "groups": {"system:masters": [{"verbs": ["*"]}]}}

Each rule allows a (verb, API group, resource, namespace) combination; "*" matches anything
and a missing field means "*". Resources may name subresources (`pods/log`, `pods/*`), `""`
in `namespaces` matches cluster-scoped requests, and `nonResourceURLs` rules cover
non-resource paths. A request no rule allows gets `allowed: false, denied: true`.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path

from .sar import SarPolicy
from .server import FakeKubeServer
from .state import FakeKubeState

__all__ = ["fake_kube_main"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="catalyst-api fake-kube", description="Serve a fake kube-apiserver on loopback."
    )
    p.add_argument("--port", type=int, default=0, help="TCP port (0 = any free port)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument(
        "--kubeconfig-out",
        required=True,
        type=Path,
        help="where to write the kubeconfig (mode 0600)",
    )
    p.add_argument("--token", default=None, help="bearer token (default: random)")
    p.add_argument(
        "--sar-policy",
        type=Path,
        default=None,
        help="YAML/JSON SubjectAccessReview policy (default: allow all)",
    )
    tls = p.add_mutually_exclusive_group()
    tls.add_argument(
        "--tls",
        dest="tls",
        action="store_true",
        default=True,
        help="serve https with a generated CA (the default: kubectl only sends bearer tokens "
        "over TLS)",
    )
    tls.add_argument(
        "--no-tls", dest="tls", action="store_false", help="serve plain http (lightkube, curl)"
    )
    p.add_argument(
        "--history-limit",
        type=int,
        default=1000,
        help="watch events retained for resuming (default 1000)",
    )
    return p


async def _serve(args: argparse.Namespace) -> None:
    policy = SarPolicy.load(args.sar_policy) if args.sar_policy else None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with FakeKubeServer(
        token=args.token,
        tls=args.tls,
        host=args.host,
        port=args.port,
        sar_policy=policy,
        state=FakeKubeState(history_limit=args.history_limit, addons=True),
    ) as kube:
        path = kube.write_kubeconfig(args.kubeconfig_out)
        print(path, flush=True)
        await stop.wait()


def fake_kube_main(argv: list[str] | None = None) -> int:
    """Run the `fake-kube` command; returns the process exit code."""
    args = _parser().parse_args(argv)
    try:
        asyncio.run(_serve(args))
    except OSError as exc:
        print(f"fake-kube: {exc}", file=sys.stderr)
        return 1
    return 0
