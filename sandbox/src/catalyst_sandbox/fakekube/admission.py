"""Per-kind defaulting on write and CustomResourceDefinition handling."""

from __future__ import annotations

import base64
import random
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from .errors import KubeApiError, invalid
from .resources import ResourceType

__all__ = ["crd_object", "crd_types", "default_on_create", "fold_string_data", "now_rfc3339"]

CRD_API_VERSION = "apiextensions.k8s.io/v1"


def now_rfc3339() -> str:
    """Current UTC time as the apiserver formats timestamps (seconds, `Z`)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def fold_string_data(obj: dict[str, Any]) -> None:
    """Secrets: merge `stringData` into base64 `data` and drop it, as the apiserver does."""
    string_data = obj.pop("stringData", None)
    if isinstance(string_data, dict) and string_data:
        data = dict(obj.get("data") or {})
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        obj["data"] = data


def default_on_create(rt: ResourceType, obj: dict[str, Any]) -> None:
    """Fill the fields the real apiserver defaults for the kinds we serve."""
    key = rt.key
    if key == ("", "secrets"):
        fold_string_data(obj)
        obj["type"] = obj.get("type") or "Opaque"
    elif key == ("", "namespaces"):
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
        obj.setdefault("status", {}).setdefault("phase", "Active")
    elif key == ("", "pods"):
        status = obj.setdefault("status", {})
        status.setdefault("phase", "Pending")
    elif key == ("", "services"):
        spec = obj.setdefault("spec", {})
        spec.setdefault("type", "ClusterIP")
        if spec.get("clusterIP") is None:
            ip = f"10.96.{random.randint(0, 255)}.{random.randint(1, 254)}"
            spec["clusterIP"] = ip
            spec["clusterIPs"] = [ip]
        obj.setdefault("status", {"loadBalancer": {}})
    elif key == ("apiextensions.k8s.io", "customresourcedefinitions"):
        crd_types(obj)  # validates
        names = obj["spec"]["names"]
        obj["status"] = {
            "acceptedNames": names,
            "conditions": [
                {
                    "type": t,
                    "status": "True",
                    "reason": r,
                    "message": m,
                    "lastTransitionTime": now_rfc3339(),
                }
                for t, r, m in (
                    ("NamesAccepted", "NoConflicts", "no conflicts found"),
                    ("Established", "InitialNamesAccepted", "the initial names have been accepted"),
                )
            ],
            "storedVersions": [v["name"] for v in obj["spec"]["versions"] if v.get("storage")],
        }


def crd_object(
    group: str,
    version: str,
    kind: str,
    plural: str,
    namespaced: bool = True,
    short_names: Sequence[str] = (),
    printer_columns: Sequence[dict[str, str]] = (),
) -> dict[str, Any]:
    """A minimal `CustomResourceDefinition` serving one version with a status subresource."""
    names: dict[str, Any] = {
        "kind": kind,
        "listKind": f"{kind}List",
        "plural": plural,
        "singular": kind.lower(),
    }
    if short_names:
        names["shortNames"] = list(short_names)
    return {
        "apiVersion": CRD_API_VERSION,
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "names": names,
            "scope": "Namespaced" if namespaced else "Cluster",
            "versions": [
                {
                    "name": version,
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "x-kubernetes-preserve-unknown-fields": True,
                        }
                    },
                    "subresources": {"status": {}},
                    **(
                        {"additionalPrinterColumns": list(printer_columns)}
                        if printer_columns
                        else {}
                    ),
                }
            ],
        },
    }


def _required(name: str, field: str) -> KubeApiError:
    return invalid(
        "CustomResourceDefinition", "apiextensions.k8s.io", name, field, "Required value"
    )


def crd_types(crd: dict[str, Any]) -> list[ResourceType]:
    """The resource types a CRD serves; 422 Invalid when required fields are missing."""
    name = str((crd.get("metadata") or {}).get("name") or "")
    spec = crd.get("spec") or {}
    group = spec.get("group")
    names = spec.get("names") or {}
    if not group:
        raise _required(name, "spec.group")
    if not names.get("kind") or not names.get("plural"):
        raise _required(name, "spec.names.kind" if not names.get("kind") else "spec.names.plural")
    if name != f"{names['plural']}.{group}":
        raise invalid(
            "CustomResourceDefinition",
            "apiextensions.k8s.io",
            name,
            "metadata.name",
            'Invalid value: must be spec.names.plural+"."+spec.group',
        )
    versions = spec.get("versions") or []
    if not versions:
        raise _required(name, "spec.versions")
    types = []
    for v in versions:
        if not v.get("served", True):
            continue
        columns = tuple(v.get("additionalPrinterColumns") or ())
        types.append(
            ResourceType(
                group=group,
                version=v["name"],
                kind=names["kind"],
                plural=names["plural"],
                namespaced=spec.get("scope", "Namespaced") == "Namespaced",
                short_names=tuple(names.get("shortNames") or ()),
                status="status" in (v.get("subresources") or {}),
                categories=tuple(names.get("categories") or ()),
                custom=True,
                printer_columns=columns,
            )
        )
    return types
