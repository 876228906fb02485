"""helm-controller log lines → (component, level), spec §8.6 (pattern and classifier verbatim)."""

from __future__ import annotations

import re

from .derive import component_id

__all__ = ["LINE_PATTERN", "MAX_LINE_BYTES", "classify_level", "match_line", "waiting_state"]

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


def waiting_state(line: str) -> str:
    """`pending` for a line that says the release only waits for a dependency (helm-controller's
    "dependencies do not meet ready condition", or the §8.2 `dependency '…' is not ready`
    text), else empty: a client mapping state-less log lines to "installing" must not do so
    for these."""
    lower = line.lower()
    if "dependencies do not meet ready condition" in lower:
        return "pending"
    if "dependency '" in lower and "is not ready" in lower:
        return "pending"
    return ""


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
