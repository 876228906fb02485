"""`serve --sandbox`: catalyst-api with a simulated cloud, DNS provider and Sovereigns.

`sandbox_app(settings, host=...)` returns the normal app (`create_app`) configured to run the
real pipeline against in-process stand-ins, all on loopback:

- Phase 0 runs the real `TofuProvisioner` on `infra/sandbox` (built-in resources only), whose
  resources call the sandbox cloud at `<api>/sandbox/hetzner/v1`; the first control plane boots
  a simulated Sovereign that PUTs its kubeconfig back to `<api>/api/v1/deployments/<id>/…`.
- The wizard's token check asks the same sandbox cloud (`CATALYST_HETZNER_API_URL`).
- Pool-mode DNS goes through the embedded Dynadot backend to the fake Dynadot at
  `<api>/sandbox/dynadot/api3.json` with sandbox credentials.
- Phase 1 is the real HelmRelease watcher against the Sovereign's fake kube-apiserver.

Settings the sandbox sets (see `sandbox_settings`): the API URL (`http://<host>:<port>`,
`0.0.0.0` → `127.0.0.1`), the Hetzner and Dynadot URLs, sandbox Dynadot credentials and GHCR
token (real ones are never used), embedded pool domains, the module path (`infra/sandbox` of
this checkout unless `CATALYST_TOFU_MODULE_PATH` is set), the IaC binary (`tofu`/`terraform` on
PATH, else the `terraform` next to this Python, unless `CATALYST_TOFU_BINARY` is set), and —
unless `CATALYST_PHASE1_WATCH_TIMEOUT` is set — a Phase 1 budget in sandbox time
(`max(30 s, 120 s / speed)`: a kit stuck behind a failed release ends the watch as production
does after its hour). Data directories stay as configured; the sandbox keeps its own files in
`<data root>/sandbox/`.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import structlog
from pydantic import SecretStr
from starlette.applications import Starlette

from catalyst_api.app import create_app
from catalyst_api.config import Settings
from catalyst_api.dns import ManagedDomains
from catalyst_api.wiring import Overrides, Services

from .cloud import SandboxCloud
from .kit import Timings
from .persistence import SandboxFiles, sandbox_dir_for
from .routes import sandbox_routes
from .zones import SandboxDns

__all__ = [
    "SANDBOX_DYNADOT_KEY",
    "SANDBOX_DYNADOT_SECRET",
    "SANDBOX_GHCR_TOKEN",
    "find_module_path",
    "sandbox_app",
    "sandbox_settings",
]

log = structlog.get_logger(__name__)

SANDBOX_DYNADOT_KEY = "sandbox-dynadot-key"
SANDBOX_DYNADOT_SECRET = "sandbox-dynadot-secret"
SANDBOX_GHCR_TOKEN = "sandbox-ghcr-pull-token"
_WATCH_BUDGET = 120.0
_WATCH_FLOOR = 30.0
_EXAMPLE = "examples/sandbox-deployment.json"


def find_module_path() -> Path:
    """`infra/sandbox` of this checkout (src layout), else of the working directory, else the
    container's `/infra/sandbox`."""
    candidates = (
        Path(__file__).resolve().parents[3] / "infra" / "sandbox",
        Path.cwd() / "infra" / "sandbox",
        Path("/infra/sandbox"),
    )
    for candidate in candidates:
        if (candidate / "main.tf").is_file():
            return candidate
    return candidates[0]


def _iac_binary() -> str:
    for name in ("tofu", "terraform"):
        if shutil.which(name):
            return name
    return str(Path(sys.executable).parent / "terraform")


def _connect_host(host: str) -> str:
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def sandbox_settings(settings: Settings, *, host: str) -> Settings:
    """`settings` with the sandbox's URLs, credentials, module, binary and Phase 1 budget."""
    explicit = settings.model_fields_set
    api_url = f"http://{_connect_host(host)}:{settings.port}"
    update: dict[str, Any] = {
        "sandbox": True,
        "api_public_url": api_url,
        "hetzner_api_url": f"{api_url}/sandbox/hetzner/v1",
        "dynadot_api_url": f"{api_url}/sandbox/dynadot/api3.json",
        "dynadot_api_key": SecretStr(SANDBOX_DYNADOT_KEY),
        "dynadot_api_secret": SecretStr(SANDBOX_DYNADOT_SECRET),
        "ghcr_pull_token": SecretStr(SANDBOX_GHCR_TOKEN),
        "pool_domain_manager_url": "",
    }
    if "tofu_module_path" not in explicit:
        update["tofu_module_path"] = find_module_path()
    if "tofu_binary" not in explicit:
        update["tofu_binary"] = _iac_binary()
    if "phase1_watch_timeout" not in explicit:
        budget = max(_WATCH_FLOOR, _WATCH_BUDGET / settings.sandbox_speed)
        update["phase1_watch_timeout"] = timedelta(seconds=budget)
    return settings.model_copy(update=update)


def _banner(settings: Settings) -> str:
    api = settings.api_public_url
    return "\n".join(
        (
            "",
            "catalyst-api sandbox: simulated cloud, DNS and Sovereigns on this machine",
            f"  API               {api}",
            f"  sandbox inventory {api}/sandbox/",
            f"  speed             x{settings.sandbox_speed:g}",
            "  create a deployment and follow it (in another terminal):",
            f"    .venv/bin/catalyst-api deployments --api-url {api} create -f {_EXAMPLE} --follow",
            "  or with curl:",
            f"    curl -sS -X POST {api}/api/v1/deployments \\",
            f"      -H 'Content-Type: application/json' --data @{_EXAMPLE}",
            "  follow it:        curl -N " + api + "/api/v1/deployments/<id>/logs",
            "  its kubeconfig:   curl -o sovereign.yaml "
            + api
            + "/api/v1/deployments/<id>/kubeconfig",
            "                    kubectl --kubeconfig sovereign.yaml get helmreleases -A",
            "",
        )
    )


def sandbox_app(settings: Settings, *, host: str) -> Starlette:
    """The catalyst-api app (a FastAPI app) wired to the sandbox (see the module docstring)."""
    settings = sandbox_settings(settings, host=host)
    files = SandboxFiles(sandbox_dir_for(settings.deployments_dir))
    managed = ManagedDomains.from_settings_values(
        settings.dynadot_managed_domains, settings.dynadot_domain
    )
    dns = SandboxDns(
        files=files,
        domains=managed.sorted(),
        key=SANDBOX_DYNADOT_KEY,
        secret=SANDBOX_DYNADOT_SECRET,
    )
    cloud = SandboxCloud(
        files=files,
        timings=Timings().scaled(settings.sandbox_speed),
        fail_components=settings.sandbox_fail_components,
        ghcr_token=SANDBOX_GHCR_TOKEN,
    )

    async def start_sandbox(services: Services, stack: contextlib.AsyncExitStack) -> None:
        await cloud.start()
        stack.push_async_callback(cloud.aclose)
        dns.load()
        services.extra["sandbox"] = cloud
        if not settings.tofu_module_path.joinpath("main.tf").is_file():
            log.error(
                "sandbox OpenTofu module not found; set CATALYST_TOFU_MODULE_PATH",
                path=str(settings.tofu_module_path),
            )
        log.info(
            "sandbox ready",
            api=settings.api_public_url,
            module=str(settings.tofu_module_path),
            binary=settings.tofu_binary,
            speed=settings.sandbox_speed,
            fail=settings.sandbox_fail_components,
            pool_domains=dns.domains,
            create=f"POST {settings.api_public_url}/api/v1/deployments with {_EXAMPLE}",
        )
        print(_banner(settings), file=sys.stderr, flush=True)

    app = create_app(settings, overrides=Overrides(extra_setup=[start_sandbox]))
    app.mount("/sandbox", sandbox_routes(cloud, dynadot=dns.app))
    return app
