"""helm-controller log lines → (component, level), spec §8.6 (pattern and classifier verbatim)."""

from __future__ import annotations

import re

from .derive import component_id

__all__ = ["LINE_PATTERN", "MAX_LINE_BYTES", "classify_level", "match_line"]

MAX_LINE_BYTES = 1 << 20

LINE_PATTERN = re.compile(
    r"""(?:(?:helmrelease|HelmRelease)["']?\s*[:=]\s*["']?flux-system/(bp-[a-z0-9-]+))"""
    r"""|(?:["']?HelmRelease["']?\s*:\s*\{[^}]*?["']?name["']?\s*:\s*["'](bp-[a-z0-9-]+)["'])"""
)


def classify_level(line: str) -> str:
    """`error` / `warn` from logfmt or JSON `level`, else `info`."""
    lower = line.lower()
    if "level=error" in lower or '"level":"error"' in lower:
        return "error"
    if "level=warn" in lower or '"level":"warn"' in lower:
        return "warn"
    return "info"


def match_line(raw: str) -> tuple[str, str, str] | None:
    """`(component id, level, trimmed line)` for a line naming a `bp-*` HelmRelease in
    flux-system; None for blank, oversized or unrelated lines."""
    line = raw.strip()
    if not line or len(line) > MAX_LINE_BYTES:
        return None
    found = LINE_PATTERN.search(line)
    if found is None:
        return None
    name = found.group(1) or found.group(2)
    if not name:
        return None
    return component_id(name), classify_level(line), line
