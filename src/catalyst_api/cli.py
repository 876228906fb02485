"""`catalyst-api` command line: `serve`, `fake-kube`, `tokens` and the `deployments` client.

Settings are read here, once, from the environment (plus flags) and handed down.

The sandbox (`serve --sandbox`, `CATALYST_SANDBOX=true`, `fake-kube`) is optional: it is looked
up by name here and nowhere else in the product (`_sandbox`), so an installation without it
(the production image) refuses those commands with a clear message, and the import-linter
contracts can forbid every static import of it.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

__all__ = ["SANDBOX_PACKAGE", "SandboxNotInstalled", "main"]

SANDBOX_PACKAGE = "catalyst_sandbox"
"""The package of the `catalyst-api-sandbox` distribution (`sandbox/` in this repository):
simulated cloud, Sovereigns and Flux, fake kube-apiserver."""


class SandboxNotInstalled(Exception):
    """The sandbox package is not importable in this installation."""


def _sandbox(module: str) -> ModuleType:
    """`<SANDBOX_PACKAGE>.<module>`; `SandboxNotInstalled` when the sandbox itself is missing
    (an import error inside an installed sandbox is raised as is)."""
    name = f"{SANDBOX_PACKAGE}.{module}"
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if missing == name or name.startswith(f"{missing}."):  # the sandbox, not a dependency
            raise SandboxNotInstalled(
                f"the sandbox is not installed (the catalyst-api-sandbox distribution, package "
                f"{SANDBOX_PACKAGE}), so "
                "`serve --sandbox`, CATALYST_SANDBOX=true and `fake-kube` are unavailable in "
                "this installation (the production image ships without it). For development "
                "run `make install`."
            ) from None
        raise


_DATA_DIR_DEFAULTS = {
    "CATALYST_DEPLOYMENTS_DIR": "deployments",
    "CATALYST_KUBECONFIGS_DIR": "kubeconfigs",
    "CATALYST_EXECUTIONS_DIR": "executions",
    "CATALYST_TOFU_WORKDIR": "tofu",
    "CATALYST_K8SCACHE_KUBECONFIGS_DIR": "kubeconfigs",
    "CATALYST_K8SCACHE_SNAPSHOT_DIR": "cache",
}


def _private_root(base: Path) -> None:
    """The `--data-dir` root: created 0700 (missing parents too), tightened to 0700 if ours."""
    from .store._atomic import ensure_private_dir

    try:
        ensure_private_dir(base)
    except OSError as exc:  # the stores report unusable dirs themselves (/readyz)
        print(f"catalyst-api: data dir {base}: {exc}", file=sys.stderr)


def _serve_environ(data_dir: str | None) -> dict[str, str]:
    """The process environment, with every data dir defaulted under `--data-dir`."""
    environ = dict(os.environ)
    if data_dir:
        base = Path(data_dir).absolute()
        _private_root(base)
        for name, sub in _DATA_DIR_DEFAULTS.items():
            if not environ.get(name, "").strip():
                environ[name] = str(base / sub)
    return environ


def _cmd_serve(args: argparse.Namespace) -> int:
    import structlog

    from .auth.startup import check_auth, open_mode_warning
    from .auth.tokens import TokenFileError
    from .config import ConfigError, Settings
    from .logs import configure_logging
    from .runtime import tune_interpreter
    from .serving import StagedServer, uvicorn_config
    from .wiring import price_table

    # Everything the service writes (records, events, kubeconfigs, jobs, caches, OpenTofu
    # workdirs) is private: files 0600, directories 0700, whatever code path creates them.
    os.umask(0o077)
    overrides: dict[str, Any] = {}
    if args.port is not None:
        overrides["port"] = args.port
    if args.sandbox:
        overrides["sandbox"] = True
    if args.sandbox_speed is not None:
        overrides["sandbox_speed"] = args.sandbox_speed
    if args.sandbox_fail is not None:
        overrides["sandbox_fail_components"] = args.sandbox_fail
    if args.auth is not None:
        overrides["auth_mode"] = args.auth
    environ = _serve_environ(args.data_dir)
    print(f"catalyst-api console: {_console_url(args.host, args.port, environ)}", flush=True)
    try:
        if args.auth == "required" and args.sandbox:
            _sandbox_admin_token(environ, args)
        settings = Settings.from_env(environ, **overrides)
        check_auth(settings)
        price_table(settings)
        sandbox = _sandbox("wiring") if settings.sandbox else None
    except (ConfigError, SandboxNotInstalled, TokenFileError) as exc:
        print(f"catalyst-api: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    if (warning := open_mode_warning(settings, args.host)) is not None:
        structlog.get_logger("catalyst_api.auth").warning(warning)
    tune_interpreter()
    app = _build_app(settings, host=args.host, sandbox=sandbox)
    config = uvicorn_config(app, settings, host=args.host)
    StagedServer(config, grace=settings.shutdown_grace.total_seconds()).run()
    return 0


def _console_url(host: str, port: int | None, environ: dict[str, str]) -> str:
    """Where a browser on this machine finds the console (a wildcard address is reached
    through loopback)."""
    if port is None:
        raw = environ.get("PORT", "").strip()
        port = int(raw) if raw.isdigit() else 8080
    shown = {"0.0.0.0": "127.0.0.1", "::": "[::1]", "": "127.0.0.1"}.get(host, host)
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/"


def _sandbox_admin_token(environ: dict[str, str], args: argparse.Namespace) -> None:
    """`serve --sandbox --auth required`: without a tokens file, mint an admin token into
    `<data-dir>/auth-tokens` (0600), point CATALYST_AUTH_TOKENS_FILE at it, say how to use it."""
    from .auth import Role
    from .auth.startup import mint_into

    if environ.get("CATALYST_AUTH_TOKENS_FILE", "").strip():
        return
    base = Path(args.data_dir or ".catalyst").absolute()
    _private_root(base)
    path = base / "auth-tokens"
    token = mint_into(path, "sandbox-admin", Role.ADMIN)
    environ["CATALYST_AUTH_TOKENS_FILE"] = str(path)
    print(
        f"catalyst-api: CATALYST_AUTH_MODE=required; an admin token was added to {path}:\n"
        f"  export CATALYST_API_TOKEN={token}\n"
        f'  curl -H "Authorization: Bearer $CATALYST_API_TOKEN" '
        f"http://{args.host}:{args.port or 8080}/api/v1/deployments",
        file=sys.stderr,
    )


def _cmd_tokens(argv: list[str]) -> int:
    """`catalyst-api tokens create NAME --role R`: print a new token once, and its line."""
    from .auth import Role, mint_token
    from .auth.tokens import token_line

    parser = argparse.ArgumentParser(
        prog="catalyst-api tokens", description="API tokens for CATALYST_AUTH_MODE=required"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    create = sub.add_parser("create", help="mint a token: prints it once, and the line to add")
    create.add_argument("name", help="the principal's name (audit log, owner, k8scache SAR user)")
    create.add_argument("--role", required=True, choices=[r.label for r in Role])
    args = parser.parse_args(argv)
    if not args.name.strip() or any(c.isspace() for c in args.name):
        parser.error("NAME must be non-empty and without whitespace")
    token, digest = mint_token()
    print(f"token (shown once; give it to {args.name}): {token}")
    print("line to add to the CATALYST_AUTH_TOKENS_FILE Secret:")
    print(token_line(digest, args.name, Role[args.role.upper()]))
    return 0


def _build_app(settings: Any, *, host: str, sandbox: ModuleType | None) -> Any:
    from .app import create_app

    if sandbox is not None:
        return sandbox.sandbox_app(settings, host=host)
    return create_app(settings)


def _cmd_fake_kube(argv: list[str]) -> int:
    try:
        fake_kube = _sandbox("fakekube.cli")
    except SandboxNotInstalled as exc:
        print(f"catalyst-api: {exc}", file=sys.stderr)
        return 2
    code: int = fake_kube.fake_kube_main(argv)
    return code


def _cmd_deployments(argv: list[str]) -> int:
    from .client.cli import deployments_main

    return deployments_main(argv)


def _cmd_sovereigns(argv: list[str]) -> int:
    from .client.sovereigns import sovereigns_main

    return sovereigns_main(argv)


def _cmd_infra(argv: list[str]) -> int:
    from .client.infra import infra_main

    return infra_main(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `catalyst-api` console script."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list and args_list[0] == "fake-kube":
        return _cmd_fake_kube(args_list[1:])
    if args_list and args_list[0] == "deployments":
        return _cmd_deployments(args_list[1:])
    if args_list and args_list[0] == "sovereigns":
        return _cmd_sovereigns(args_list[1:])
    if args_list and args_list[0] == "infra":
        return _cmd_infra(args_list[1:])
    if args_list and args_list[0] == "tokens":
        return _cmd_tokens(args_list[1:])
    if args_list and args_list[0] == "db":
        from .dbcli import db_main

        return db_main(args_list[1:])
    if args_list and args_list[0] == "prices":
        from .pricescli import prices_main

        return prices_main(args_list[1:])
    parser = argparse.ArgumentParser(prog="catalyst-api", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the API server (configuration from the environment)")
    serve.add_argument("--host", default="0.0.0.0", help="listen address (default 0.0.0.0)")
    serve.add_argument(
        "--port", type=int, default=None, help="listen port (default: $PORT or 8080)"
    )
    serve.add_argument(
        "--data-dir",
        default=None,
        help="put every data directory under this path (env variables still win)",
    )
    serve.add_argument(
        "--sandbox",
        action="store_true",
        help="simulate the cloud and the new clusters on this machine (no cloud account)",
    )
    serve.add_argument("--sandbox-speed", type=float, default=None, help="sandbox time factor")
    serve.add_argument(
        "--sandbox-fail",
        default=None,
        metavar="COMPONENT[,...]",
        help="bootstrap-kit components the sandbox makes fail",
    )
    serve.add_argument(
        "--auth",
        choices=("open", "required"),
        default=None,
        help="CATALYST_AUTH_MODE; with --sandbox, `required` mints an admin token into the "
        "data dir when no tokens file is set",
    )
    sub.add_parser("fake-kube", help="run a fake kube-apiserver (see fake-kube --help)")
    sub.add_parser("deployments", help="client for a running catalyst-api (see deployments --help)")
    sub.add_parser("sovereigns", help="read a Sovereign's cached objects (see sovereigns --help)")
    sub.add_parser(
        "infra", help="a Sovereign's infrastructure and Day-2 changes (see infra --help)"
    )
    sub.add_parser("tokens", help="mint API tokens (see tokens create --help)")
    sub.add_parser("db", help="PostgreSQL backend: `db migrate`, `db import DIR`")
    sub.add_parser("prices", help="write a plan-preview price table from Hetzner's price list")
    args = parser.parse_args(args_list)
    if args.command == "serve":
        return _cmd_serve(args)
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
