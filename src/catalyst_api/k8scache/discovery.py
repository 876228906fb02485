"""Which clusters exist: the kubeconfig files of `CATALYST_K8SCACHE_KUBECONFIGS_DIR`.

The cluster id is the file stem (the deployment id, since the postback writes `<id>.yaml`).
Accepted: regular files ending `.yaml`, `.yml` or `.kubeconfig`; dotfiles and subdirectories
are skipped. A missing directory means no clusters. Blocking I/O: call through a thread.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["KUBECONFIG_SUFFIXES", "cluster_file", "scan"]

KUBECONFIG_SUFFIXES = (".yaml", ".yml", ".kubeconfig")


def scan(directory: Path) -> dict[str, Path]:
    """Cluster id → kubeconfig path, sorted by id; {} when the directory is missing."""
    found: dict[str, Path] = {}
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return {}
    for entry in entries:
        name = entry.name
        if name.startswith("."):
            continue
        suffix = next((s for s in KUBECONFIG_SUFFIXES if name.endswith(s)), None)
        if suffix is None or len(name) == len(suffix):
            continue
        try:
            if not entry.is_file(follow_symlinks=True):
                continue
        except OSError:
            continue
        cluster = name[: -len(suffix)]
        found.setdefault(cluster, Path(entry.path))
    return dict(sorted(found.items()))


def cluster_file(directory: Path, cluster: str) -> Path | None:
    """The kubeconfig of one cluster id, if present."""
    if not cluster or cluster.startswith(".") or "/" in cluster or "\x00" in cluster:
        return None
    for suffix in KUBECONFIG_SUFFIXES:
        path = directory / f"{cluster}{suffix}"
        if path.is_file():
            return path
    return None
