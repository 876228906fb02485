"""Decode the create-deployment body with Go `encoding/json` semantics.

Unknown fields are ignored, keys match case-insensitively, `null` leaves the zero value, and a
value of the wrong JSON type is an error (`"2"` for `workerCount`, `"yes"` for `haEnabled`). The
error text follows Go's so the 400 body reads `invalid request body: <decoder error>`.
Server-stamped fields (Dynadot credentials, GHCR token, id, bearer) cannot be set from the wire.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from pydantic import SecretStr

from ..errors import InvalidBody
from .models import DeploymentRequest, RegionSpec

__all__ = ["decode_create_request", "decode_json_object"]

_INT64 = (-(2**63), 2**63 - 1)


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return f"number {value}"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


def _mismatch(value: Any, struct: str, key: str, go_type: str) -> InvalidBody:
    kind = _json_type(value)
    if kind.startswith("number"):
        kind = "number" if isinstance(value, int) else kind
    return InvalidBody(
        f"json: cannot unmarshal {kind} into Go struct field {struct}.{key} of type {go_type}"
    )


def _as_str(value: Any, struct: str, key: str) -> str:
    if isinstance(value, str):
        return value
    raise _mismatch(value, struct, key, "string")


def _as_int(value: Any, struct: str, key: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and _INT64[0] <= value <= _INT64[1]:
        return value
    raise _mismatch(value, struct, key, "int")


def _as_bool(value: Any, struct: str, key: str) -> bool:
    if isinstance(value, bool):
        return value
    raise _mismatch(value, struct, key, "bool")


def decode_json_object(body: bytes, type_name: str) -> dict[str, Any]:
    """Parse a body that must be one JSON object; Go-style errors."""
    if not body.strip():
        raise InvalidBody("EOF")
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidBody(str(exc)) from None
    if not isinstance(value, dict):
        raise InvalidBody(
            f"json: cannot unmarshal {_json_type(value).split()[0]} into Go value of type "
            f"{type_name}"
        )
    return value


def _fields(raw: dict[str, Any], known: dict[str, str]) -> dict[str, tuple[str, Any]]:
    """Map canonical key → (wire key, value), exact match first, then case-insensitive."""
    out: dict[str, tuple[str, Any]] = {}
    lowered = {k.lower(): k for k in known}
    for key, value in raw.items():
        canonical = key if key in known else lowered.get(key.lower())
        if canonical is None or value is None:
            continue
        if canonical in out and key != canonical:
            continue  # an exact-case key wins over a case-folded one
        out[canonical] = (key, value)
    return out


_REGION_KEYS = {
    "provider": "string",
    "cloudRegion": "string",
    "controlPlaneSize": "string",
    "workerSize": "string",
    "workerCount": "int",
}

_REQUEST_KEYS = {
    "orgName": "string",
    "orgEmail": "string",
    "sovereignFQDN": "string",
    "sovereignDomainMode": "string",
    "sovereignPoolDomain": "string",
    "sovereignSubdomain": "string",
    "hetznerToken": "string",
    "hetznerProjectID": "string",
    "region": "string",
    "controlPlaneSize": "string",
    "workerSize": "string",
    "workerCount": "int",
    "haEnabled": "bool",
    "regions": "array",
    "sshPublicKey": "string",
}

_CONVERT: dict[str, Callable[[Any, str, str], Any]] = {
    "string": _as_str,
    "int": _as_int,
    "bool": _as_bool,
}


def _decode_region(raw: Any, index: int) -> RegionSpec:
    struct = "CreateDeploymentRequest.regions"
    if not isinstance(raw, dict):
        if raw is None:
            return RegionSpec()
        raise _mismatch(raw, struct, f"regions[{index}]", "provisioner.RegionSpec")
    values = {
        key: _CONVERT[_REGION_KEYS[key]](value, struct, key)
        for key, (_, value) in _fields(raw, _REGION_KEYS).items()
    }
    return RegionSpec(
        provider=values.get("provider", ""),
        cloud_region=values.get("cloudRegion", ""),
        control_plane_size=values.get("controlPlaneSize", ""),
        worker_size=values.get("workerSize", ""),
        worker_count=values.get("workerCount", 0),
    )


def decode_create_request(body: bytes) -> DeploymentRequest:
    """Decode `POST /api/v1/deployments`; raises `InvalidBody` with a Go-style message."""
    raw = decode_json_object(body, "handler.CreateDeploymentRequest")
    struct = "CreateDeploymentRequest"
    values: dict[str, Any] = {}
    for key, (_, value) in _fields(raw, _REQUEST_KEYS).items():
        go_type = _REQUEST_KEYS[key]
        if go_type == "array":
            if not isinstance(value, list):
                raise _mismatch(value, struct, key, "[]provisioner.RegionSpec")
            values[key] = [_decode_region(item, i) for i, item in enumerate(value)]
        else:
            values[key] = _CONVERT[go_type](value, struct, key)
    return DeploymentRequest(
        org_name=values.get("orgName", ""),
        org_email=values.get("orgEmail", ""),
        sovereign_fqdn=values.get("sovereignFQDN", ""),
        sovereign_domain_mode=values.get("sovereignDomainMode", ""),
        sovereign_pool_domain=values.get("sovereignPoolDomain", ""),
        sovereign_subdomain=values.get("sovereignSubdomain", ""),
        hetzner_token=SecretStr(values.get("hetznerToken", "")),
        hetzner_project_id=values.get("hetznerProjectID", ""),
        region=values.get("region", ""),
        control_plane_size=values.get("controlPlaneSize", ""),
        worker_size=values.get("workerSize", ""),
        worker_count=values.get("workerCount", 0),
        ha_enabled=values.get("haEnabled", False),
        regions=values.get("regions", []),
        ssh_public_key=values.get("sshPublicKey", ""),
    )
