"""Start-up checks and helpers of the auth settings (used by `catalyst-api serve` / `tokens`)."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

from ..config import Settings
from .principal import Role
from .tokens import TokenFile, mint_token, token_line

__all__ = ["check_auth", "mint_into", "open_mode_warning"]


def _loopback_host(host: str) -> bool:
    if host in ("localhost", ""):
        return host == "localhost"
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def open_mode_warning(settings: Settings, host: str) -> str | None:
    """The one start-up warning of `open` mode on a non-loopback listen address, else None."""
    if settings.auth_mode != "open" or _loopback_host(host):
        return None
    return (
        f"CATALYST_AUTH_MODE=open on {host}: any caller that reaches this address can list "
        "deployments, read every Sovereign's cluster-admin kubeconfig, retry and destroy; "
        "set CATALYST_AUTH_MODE=required (see docs/SECURITY.md)"
    )


def check_auth(settings: Settings) -> None:
    """Raise `TokenFileError` (naming CATALYST_AUTH_TOKENS_FILE) when the tokens file of
    `required` mode cannot be read or parsed: startup stops instead of serving with none."""
    if settings.auth_mode == "required" and settings.auth_tokens_file is not None:
        TokenFile(settings.auth_tokens_file)


def mint_into(path: Path, name: str, role: Role) -> str:
    """Append a new token's line to `path` (created 0600) and return the token."""
    token, digest = mint_token()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as out:
        out.write(token_line(digest, name, role) + "\n")
    os.chmod(path, 0o600)
    return token
