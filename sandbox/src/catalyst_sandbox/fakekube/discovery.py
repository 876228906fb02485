"""Discovery documents (`/api`, `/apis`, group and group/version resource lists, `/version`)."""

from __future__ import annotations

from typing import Any

from .resources import ResourceType

__all__ = ["api_group", "api_group_list", "api_resource_list", "api_versions", "version_info"]

KUBE_VERSION = ("1", "32", "v1.32.3")


def version_info() -> dict[str, Any]:
    """`/version`: the Kubernetes release the fake imitates."""
    major, minor, git = KUBE_VERSION
    return {
        "major": major,
        "minor": minor,
        "gitVersion": git,
        "gitCommit": "fakekube",
        "gitTreeState": "clean",
        "buildDate": "2025-01-01T00:00:00Z",
        "goVersion": "go1.23.6",
        "compiler": "gc",
        "platform": "linux/amd64",
    }


def api_versions(server_address: str) -> dict[str, Any]:
    """`/api`: the legacy core group's versions."""
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}
        ],
    }


def _group(name: str, versions: list[str]) -> dict[str, Any]:
    entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": entries, "preferredVersion": entries[0]}


def api_group_list(groups: dict[str, list[str]]) -> dict[str, Any]:
    """`/apis`: every named group and its versions."""
    return {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [_group(name, versions) for name, versions in groups.items()],
    }


def api_group(name: str, versions: list[str]) -> dict[str, Any]:
    """`/apis/<group>`."""
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(name, versions)}


def _resource_entries(rt: ResourceType) -> list[dict[str, Any]]:
    main: dict[str, Any] = {
        "name": rt.plural,
        "singularName": rt.singular,
        "namespaced": rt.namespaced,
        "kind": rt.kind,
        "verbs": list(rt.verbs),
    }
    if rt.short_names:
        main["shortNames"] = list(rt.short_names)
    if rt.categories:
        main["categories"] = list(rt.categories)
    entries = [main]
    for sub in rt.all_subresources():
        verbs = ["get"] if sub == "log" else ["get", "patch", "update"]
        entry: dict[str, Any] = {
            "name": f"{rt.plural}/{sub}",
            "singularName": "",
            "namespaced": rt.namespaced,
            "kind": rt.kind,
            "verbs": verbs,
        }
        if sub == "scale":
            entry.update(group="autoscaling", version="v1", kind="Scale")
        entries.append(entry)
    return entries


def api_resource_list(group_version: str, types: list[ResourceType]) -> dict[str, Any]:
    """`/api/v1` or `/apis/<group>/<version>`: the resources served there."""
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": [e for rt in types for e in _resource_entries(rt)],
    }
