"""The console's static files, served from the package (`static/`), read once per name.

Only plain file names directly under `static/` with a known type are served, so a request can
never reach another file. Each answer carries a strong ETag (the content's hash).
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from importlib import resources

__all__ = ["Asset", "static_asset"]

_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
_NAME = re.compile(r"[a-z0-9][a-z0-9-]*\.(js|css|svg)")


@dataclass(frozen=True, slots=True)
class Asset:
    """One static file: its bytes, media type and ETag."""

    body: bytes
    media_type: str
    etag: str


@functools.cache
def _names() -> frozenset[str]:
    folder = resources.files(__package__).joinpath("static")
    return frozenset(p.name for p in folder.iterdir() if p.is_file() and _NAME.fullmatch(p.name))


@functools.cache
def _read(name: str) -> Asset:
    body = resources.files(__package__).joinpath("static", name).read_bytes()
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    return Asset(body=body, media_type=_TYPES[name[name.rindex(".") :]], etag=etag)


def static_asset(name: str) -> Asset | None:
    """The asset called `name`; None when there is none (only the files shipped in `static/`
    are served, read once each)."""
    return _read(name) if name in _names() else None
