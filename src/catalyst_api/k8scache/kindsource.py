"""Where extra kinds come from: `CATALYST_K8SCACHE_KINDS_FILE` or the home-cluster ConfigMap.

Both use the CSV format of `kinds.parse_kinds_csv`, merged on top of the defaults. The
ConfigMap is read once at start with the Pod's service account (data key `kinds.txt`, else
`kinds`); off-cluster, missing or forbidden it is one warning and the defaults. The kinds file
(for running outside a cluster) is read instead of the ConfigMap when set.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import structlog

from ..kube import KubeClient, KubeError, ResourceRef
from .kinds import Kind, KindRegistry, build_registry, parse_kinds_csv

__all__ = ["load_registry"]

log = structlog.get_logger(__name__)

_CONFIGMAPS = ResourceRef("", "v1", "ConfigMap", "configmaps", True)


HomeClient = Callable[[], KubeClient]
"""Builds the home-cluster client (`KubeClient.in_cluster`; tests pass a fake's)."""


async def _from_configmap(name: str, namespace: str, home: HomeClient) -> list[Kind]:
    try:
        client = home()
    except KubeError:
        log.info("k8scache kinds ConfigMap skipped: not running in a cluster", configmap=name)
        return []
    try:
        async with client:
            cm = await client.get_object(_CONFIGMAPS, namespace=namespace, name=name)
    except KubeError as exc:
        log.warning(
            "k8scache kinds ConfigMap unreadable; using the default kinds",
            configmap=name,
            namespace=namespace,
            error=str(exc),
        )
        return []
    data = cm.get("data") or {}
    body = next((str(data[k]) for k in ("kinds.txt", "kinds") if data.get(k)), "")
    return parse_kinds_csv(body, source=f"configmap {namespace}/{name}")


async def load_registry(
    *,
    kinds_file: Path | None,
    configmap: str,
    namespace: str,
    home: HomeClient = KubeClient.in_cluster,
) -> KindRegistry:
    """The defaults plus the configured extension; never raises."""
    extra: list[Kind] = []
    if kinds_file is not None:
        try:
            text = await asyncio.to_thread(kinds_file.read_text, "utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            log.warning(
                "k8scache kinds file unreadable; using the default kinds",
                path=str(kinds_file),
                error=str(exc),
            )
        else:
            extra = parse_kinds_csv(text, source=str(kinds_file))
    elif configmap:
        extra = await _from_configmap(configmap, namespace, home)
    return build_registry(extra)
