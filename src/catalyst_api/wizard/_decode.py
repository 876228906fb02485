"""Decode small helper bodies with Go `encoding/json` semantics for a struct of string fields:
one JSON object, keys matched case-insensitively (last one wins), `null` and missing keys leave
`""`, any other JSON type for a field is an error, unknown keys are ignored."""

from __future__ import annotations

from collections.abc import Sequence

import orjson

__all__ = ["BodyDecodeError", "FieldTypeError", "decode_string_fields"]


class BodyDecodeError(ValueError):
    """The body is not a JSON object of the expected field types."""


class FieldTypeError(BodyDecodeError):
    """A JSON object with a field of another type than string (Go's `UnmarshalTypeError`)."""


def _json_kind(value: object) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return "array" if isinstance(value, list) else "object"


def decode_string_fields(body: bytes, fields: Sequence[str]) -> dict[str, str]:
    """`{field: value}` for every name in `fields` (`""` when absent or null)."""
    if not body.strip():
        raise BodyDecodeError("EOF")
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BodyDecodeError(str(exc)) from None
    if not isinstance(value, dict):
        raise BodyDecodeError("body is not a JSON object")
    by_folded = {name.lower(): name for name in fields}
    out = dict.fromkeys(fields, "")
    for key, item in value.items():
        name = key if key in out else by_folded.get(key.lower())
        if name is None or item is None:
            continue
        if not isinstance(item, str):
            raise FieldTypeError(
                f"json: cannot unmarshal {_json_kind(item)} into Go struct field .{name} of type "
                "string"
            )
        out[name] = item
    return out
