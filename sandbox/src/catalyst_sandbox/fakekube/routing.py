"""Parse apiserver URL paths into the resource they address."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ResourcePath", "parse_resource_path"]


@dataclass(frozen=True)
class ResourcePath:
    """`/api/v1/...` or `/apis/<group>/<version>/...` broken into parts."""

    group: str
    version: str
    plural: str
    namespace: str | None = None
    name: str | None = None
    subresource: str | None = None
    legacy_watch: bool = False


def parse_resource_path(path: str) -> ResourcePath | None:
    """The resource a path names, or None when it is not a resource path (e.g. discovery)."""
    parts = [p for p in path.split("/") if p]
    if parts[:2] == ["api", "v1"]:
        group, version, rest = "", "v1", parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    legacy_watch = bool(rest) and rest[0] == "watch"
    if legacy_watch:
        rest = rest[1:]
    if not rest:
        return None
    namespace = None
    if (
        rest[0] == "namespaces"
        and len(rest) >= 3
        and not (len(rest) == 3 and rest[2] in ("status", "finalize"))
    ):
        namespace, rest = rest[1], rest[2:]
    if len(rest) > 3:
        return None
    return ResourcePath(
        group=group,
        version=version,
        plural=rest[0],
        namespace=namespace,
        name=rest[1] if len(rest) > 1 else None,
        subresource=rest[2] if len(rest) > 2 else None,
        legacy_watch=legacy_watch,
    )
