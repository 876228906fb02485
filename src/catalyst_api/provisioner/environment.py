"""What an OpenTofu child process gets: its executable and its environment.

Shared by Phase 0 / destroy (`runner.py`) and the plan preview (`plan.py`). The environment is
an allowlist of the process's own basics (PATH, HOME, locale, proxies, CA bundle), our `TF_*`
settings and the run's secret variables as `TF_VAR_<name>`: catalyst-api's own environment
(e.g. `CATALYST_GHCR_PULL_TOKEN`) is never inherited.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path

from catalyst_api.provisioner.models import ProvisionError

__all__ = ["default_base_env", "require_binary", "resolve_binary", "tofu_env"]

_ENV_ALLOWLIST = (
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "TMPDIR",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
)


def default_base_env() -> dict[str, str]:
    """The allowlisted slice of `os.environ` a child needs; the one place the provisioner
    looks at the process environment (nothing catalyst-api itself reads)."""
    return {key: os.environ[key] for key in _ENV_ALLOWLIST if key in os.environ}


def resolve_binary(binary: str, base_env: Mapping[str, str]) -> str | None:
    """The configured executable's full path, looked up on the child's PATH; None if absent."""
    return shutil.which(binary, path=base_env.get("PATH", os.defpath))


def require_binary(binary: str, base_env: Mapping[str, str]) -> str:
    """`resolve_binary`, or the `ProvisionError` (step `init`) OpenTofu's absence is reported as."""
    found = resolve_binary(binary, base_env)
    if found is None:
        raise ProvisionError(
            f'tofu init: exec: "{binary}": executable file not found in $PATH', step="init"
        )
    return found


def tofu_env(
    base_env: Mapping[str, str], cli_config: Path, secrets_env: Mapping[str, str]
) -> dict[str, str]:
    """The child's environment: the allowlisted basics, our CLI config and automation flags,
    and the run's `TF_VAR_*` (and backend) variables."""
    return {
        **base_env,
        "TF_CLI_CONFIG_FILE": str(cli_config),
        "TF_IN_AUTOMATION": "1",
        "TF_INPUT": "0",
        "CHECKPOINT_DISABLE": "1",
        **secrets_env,
    }
