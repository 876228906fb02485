"""Decode the few protobuf request bodies kubectl sends for built-in kinds.

kubectl's generator commands (`kubectl create namespace|configmap|secret|serviceaccount`)
POST `application/vnd.kubernetes.protobuf`: the magic `k8s\\0`, then a `runtime.Unknown`
envelope (1: typeMeta{1: apiVersion, 2: kind}, 2: raw object bytes). We decode the raw object
for Namespace, ConfigMap, Secret and ServiceAccount (metadata name/generateName/namespace/
labels/annotations/finalizers plus their own simple fields); anything else is a 415, so the
client should send JSON (`kubectl create -f` / `apply -f` always do). Responses stay JSON,
which kubectl accepts.
"""

from __future__ import annotations

import base64
from typing import Any

from .errors import KubeApiError

__all__ = ["PROTOBUF", "decode_protobuf_object"]

PROTOBUF = "application/vnd.kubernetes.protobuf"
_MAGIC = b"k8s\x00"
Fields = list[tuple[int, Any]]


def _unsupported(detail: str) -> KubeApiError:
    return KubeApiError(
        415,
        "UnsupportedMediaType",
        f"the fake kube-apiserver cannot decode this protobuf body ({detail}); "
        "send application/json (e.g. kubectl apply -f)",
    )


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise _unsupported("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _fields(buf: bytes) -> Fields:
    """(field number, value) pairs: ints for varints, bytes for length-delimited fields."""
    out: Fields = []
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
            out.append((number, value))
        elif wire == 2:
            size, pos = _varint(buf, pos)
            out.append((number, buf[pos : pos + size]))
            pos += size
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
        else:
            raise _unsupported(f"wire type {wire}")
    return out


def _text(raw: Any) -> str:
    return bytes(raw).decode("utf-8")


def _map(fields: Fields, number: int, as_bytes: bool = False) -> dict[str, str]:
    out: dict[str, str] = {}
    for n, entry in fields:
        if n == number:
            kv = dict(_fields(entry))
            value = bytes(kv.get(2, b""))
            out[_text(kv.get(1, b""))] = (
                base64.b64encode(value).decode() if as_bytes else value.decode("utf-8")
            )
    return out


def _strings(fields: Fields, number: int) -> list[str]:
    return [_text(v) for n, v in fields if n == number]


def _metadata(raw: bytes) -> dict[str, Any]:
    fields = _fields(raw)
    meta: dict[str, Any] = {}
    for number, key in ((1, "name"), (2, "generateName"), (3, "namespace")):
        values = _strings(fields, number)
        if values and values[-1]:
            meta[key] = values[-1]
    for number, key in ((11, "labels"), (12, "annotations")):
        if mapping := _map(fields, number):
            meta[key] = mapping
    if finalizers := _strings(fields, 14):
        meta["finalizers"] = finalizers
    return meta


def _object(kind: str, fields: Fields) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    meta = [v for n, v in fields if n == 1]
    obj["metadata"] = _metadata(meta[-1]) if meta else {}
    if kind == "ConfigMap":
        if data := _map(fields, 2):
            obj["data"] = data
        if binary := _map(fields, 3, as_bytes=True):
            obj["binaryData"] = binary
    elif kind == "Secret":
        if data := _map(fields, 2, as_bytes=True):
            obj["data"] = data
        if (types := _strings(fields, 3)) and types[-1]:
            obj["type"] = types[-1]
        if string_data := _map(fields, 4):
            obj["stringData"] = string_data
    elif kind == "Namespace":
        specs = [v for n, v in fields if n == 2]
        if specs and (finalizers := _strings(_fields(specs[-1]), 1)):
            obj["spec"] = {"finalizers": finalizers}
    elif kind != "ServiceAccount":
        raise _unsupported(f"kind {kind}")
    return obj


def decode_protobuf_object(body: bytes) -> dict[str, Any]:
    """The JSON form of a protobuf-encoded Namespace, ConfigMap, Secret or ServiceAccount."""
    if not body.startswith(_MAGIC):
        raise _unsupported("missing k8s protobuf magic")
    envelope = dict(_fields(body[len(_MAGIC) :]))
    type_meta = dict(_fields(envelope.get(1, b"")))
    api_version, kind = _text(type_meta.get(1, b"")), _text(type_meta.get(2, b""))
    if api_version != "v1":
        raise _unsupported(f"apiVersion {api_version}")
    obj = _object(kind, _fields(envelope.get(2, b"")))
    return {"apiVersion": api_version, "kind": kind, **obj}
