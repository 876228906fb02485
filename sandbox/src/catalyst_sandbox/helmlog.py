"""helm-controller-like JSON log lines for the simulated Flux (what Phase 1 tails, spec §8.6).

Shaped like controller-runtime's zap JSON output, each naming its release as
`"HelmRelease":{"name":"bp-…","namespace":"flux-system"}` so the §8.6 pattern matches.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from .kit import KIT_NAMESPACE

__all__ = ["helm_controller_line"]


def helm_controller_line(release: str, message: str, *, level: str = "info", **extra: str) -> str:
    """One log line about `release` (`level` info or error; `extra` fields appended)."""
    record: dict[str, object] = {
        "level": level,
        "ts": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "msg": message,
        "controller": "helmrelease",
        "controllerGroup": "helm.toolkit.fluxcd.io",
        "controllerKind": "HelmRelease",
        "HelmRelease": {"name": release, "namespace": KIT_NAMESPACE},
        "namespace": KIT_NAMESPACE,
        "name": release,
        "reconcileID": str(uuid.uuid4()),
    }
    record.update(extra)
    return json.dumps(record, separators=(",", ":"))
