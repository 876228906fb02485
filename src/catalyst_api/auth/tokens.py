"""API tokens: a file of `sha256-hex name role` lines, re-read when it changes.

Only the SHA-256 of a token is stored; a presented token is hashed and compared with every
line in constant time. `mint_token` makes a new one (`catalyst-api tokens create`).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

import structlog

from .principal import Principal, Role, parse_role

__all__ = ["TokenFile", "TokenFileError", "mint_token", "token_line"]

log = structlog.get_logger(__name__)

TOKEN_PREFIX = "cat_"


class TokenFileError(ValueError):
    """A line of the tokens file cannot be used; the message names the line, never a hash."""


def mint_token() -> tuple[str, str]:
    """A new token and its SHA-256 hex digest."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, hashlib.sha256(token.encode()).hexdigest()


def token_line(digest: str, name: str, role: Role) -> str:
    return f"{digest} {name} {role.label}"


@dataclass(frozen=True, slots=True)
class _Entry:
    digest: bytes
    name: str
    role: Role


def _parse(text: str, path: Path) -> list[_Entry]:
    entries: list[_Entry] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 3:
            raise TokenFileError(f"{path}:{number}: expected `sha256-hex name role`")
        digest, name, role_name = parts
        try:
            raw_digest = bytes.fromhex(digest)
        except ValueError:
            raw_digest = b""
        if len(raw_digest) != 32:
            raise TokenFileError(f"{path}:{number}: the first field is not a SHA-256 hex digest")
        role = parse_role(role_name)
        if role is None:
            raise TokenFileError(f"{path}:{number}: unknown role {role_name!r}")
        entries.append(_Entry(raw_digest, name, role))
    return entries


class TokenFile:
    """The tokens of one file; `lookup()` re-reads it when its mtime, size or inode change
    (a Secret update swaps a symlink). A file that cannot be read or parsed keeps the last
    good tokens (and logs why); at construction it raises."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._entries: list[_Entry] = []
        self._reload(strict=True)

    def _current_stamp(self) -> tuple[int, int, int]:
        st = os.stat(self.path)
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def _reload(self, *, strict: bool) -> None:
        try:
            stamp = self._current_stamp()
            entries = _parse(self.path.read_text(encoding="utf-8"), self.path)
        except (OSError, UnicodeDecodeError, TokenFileError) as exc:
            if strict:
                raise TokenFileError(f"CATALYST_AUTH_TOKENS_FILE: {exc}") from None
            log.warning("auth tokens file not reloaded, keeping the last tokens", error=str(exc))
            return
        self._entries = entries
        self._stamp = stamp
        if not strict:
            log.info("auth tokens file reloaded", tokens=len(entries))

    def _refresh(self) -> None:
        try:
            stamp = self._current_stamp()
        except OSError:
            return
        if stamp != self._stamp:
            with self._lock:
                if stamp != self._stamp:
                    self._reload(strict=False)

    def lookup(self, token: str) -> Principal | None:
        """The principal of `token`, or None; every line is compared (no early exit)."""
        self._refresh()
        digest = hashlib.sha256(token.encode()).digest()
        found: _Entry | None = None
        for entry in self._entries:
            if hmac.compare_digest(entry.digest, digest):
                found = entry
        return Principal(found.name, found.role, "token") if found is not None else None

    def __len__(self) -> int:
        return len(self._entries)
