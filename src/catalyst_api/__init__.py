"""catalyst-api: provisions a Sovereign Kubernetes cluster end to end."""

from __future__ import annotations

import sys

__version__ = "0.1.0"

__all__ = ["__version__"]


def _import_without_rich() -> None:
    """Import structlog and httpx with `rich` hidden from them.

    Both import rich (and with it pygments and attrs) at import time when it is installed:
    structlog to pretty-print tracebacks in its console renderer, httpx for its command-line
    tool. The service uses neither (its logs are JSON, its dev console plain text) and the
    imports cost over a tenth of a second of every start-up, which the k8scache's cold-start
    budget (lists answered from snapshots within 1 s of process start, platform §4) cannot
    spare. rich stays importable for the CLI's live tables: it is hidden only while these two
    load, and only when nothing imported it before.
    """
    if "structlog" in sys.modules and "httpx" in sys.modules:
        return
    hidden = [name for name in ("rich", "pygments") if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # `import name` raises ImportError
    try:
        import httpx  # noqa: F401
        import structlog  # noqa: F401
    finally:
        for name in hidden:
            del sys.modules[name]


_import_without_rich()
