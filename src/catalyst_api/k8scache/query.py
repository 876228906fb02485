"""List queries over cached objects: label selectors, the fieldSelector subset and paging.

- `labelSelector`: the Kubernetes grammar (`k`, `!k`, `k=v`, `k==v`, `k!=v`, `k in (a,b)`,
  `k notin (a,b)`, `k>1`, `k<1`), comma-ANDed; `SelectorError` on a parse error.
- `fieldSelector`: only `metadata.name=`, `metadata.namespace=` and `metadata.labels.<k>=`
  (`==` too), comma-ANDed; other keys are ignored (upstream behaviour).
- Paging: `limit` defaults to 500 (< 1 → 500, > 5000 → 5000); `continue` is the unpadded
  base64url of a decimal offset into the sorted result.

Matchers take either an object (a dict) or a cached `Entry` (its stored namespace, name and
labels, without decoding the object).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from .store import Entry
from .types import Obj

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "Page",
    "SelectorError",
    "decode_continue",
    "encode_continue",
    "field_matcher",
    "label_matcher",
    "page",
    "parse_limit",
]

DEFAULT_LIMIT = 500
MAX_LIMIT = 5000
Matchable = Obj | Entry
Matcher = Callable[[Matchable], bool]
T = TypeVar("T")


class SelectorError(ValueError):
    """A label selector (or continue token) that cannot be parsed; the text is safe to show."""


_KEY = r"(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?/)?[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?"
_VALUE = r"(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?"
_EXISTS = re.compile(rf"^(!?)\s*({_KEY})$")
_EQUALS = re.compile(rf"^({_KEY})\s*(==|=|!=)\s*({_VALUE})$")
_SET = re.compile(rf"^({_KEY})\s+(in|notin)\s*\((.*)\)$")
_NUMERIC = re.compile(rf"^({_KEY})\s*(>|<)\s*(-?\d+)$")
_VALUE_ONLY = re.compile(rf"^{_VALUE}$")


def _labels(obj: Matchable) -> dict[str, str]:
    if isinstance(obj, Entry):
        return obj.label_dict()
    meta = obj.get("metadata")
    labels = meta.get("labels") if isinstance(meta, dict) else None
    return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}


def _split(text: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise SelectorError("unbalanced parentheses")
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    if depth:
        raise SelectorError("unbalanced parentheses")
    parts.append("".join(current))
    return [p.strip() for p in parts]


def _requirement(text: str) -> Matcher:
    if not text:
        raise SelectorError("empty requirement")
    if m := _SET.match(text):
        key, op = m.group(1), m.group(2)
        values = {v.strip() for v in m.group(3).split(",")}
        if not all(_VALUE_ONLY.match(v) for v in values):
            raise SelectorError(f"invalid value in {text!r}")
        if op == "in":
            return lambda o: _labels(o).get(key) in values
        return lambda o: _labels(o).get(key) not in values
    if m := _EQUALS.match(text):
        key, op, value = m.group(1), m.group(2), m.group(3)
        if op == "!=":
            return lambda o: _labels(o).get(key) != value
        return lambda o: _labels(o).get(key) == value
    if m := _NUMERIC.match(text):
        key, op, bound = m.group(1), m.group(2), int(m.group(3))

        def numeric(o: Matchable) -> bool:
            try:
                n = int(_labels(o)[key])
            except (KeyError, ValueError):
                return False
            return n > bound if op == ">" else n < bound

        return numeric
    if m := _EXISTS.match(text):
        negate, key = m.group(1) == "!", m.group(2)
        return lambda o: (key in _labels(o)) != negate
    raise SelectorError(f"unable to parse requirement: {text!r}")


def label_matcher(selector: str) -> Matcher | None:
    """A predicate for the selector (None when empty). Raises `SelectorError`."""
    if not selector.strip():
        return None
    matchers = [_requirement(part) for part in _split(selector)]
    return lambda o: all(m(o) for m in matchers)


def field_matcher(selector: str) -> Matcher | None:
    """A predicate for the supported fieldSelector terms (None when nothing applies)."""
    checks: list[Matcher] = []
    for term in selector.split(","):
        key, sep, value = term.strip().partition("=")
        if not sep:
            continue
        value = value[1:] if value.startswith("=") else value
        key, value = key.strip(), value.strip()
        if key.endswith("!"):
            continue
        if key in ("metadata.name", "metadata.namespace"):
            checks.append(_meta_equals(key.split(".")[1], value))
        elif key.startswith("metadata.labels."):
            checks.append(_label_equals(key[len("metadata.labels.") :], value))
    if not checks:
        return None
    return lambda o: all(c(o) for c in checks)


def _meta_equals(field: str, value: str) -> Matcher:
    return lambda o: _meta(o, field) == value


def _label_equals(label: str, value: str) -> Matcher:
    return lambda o: _labels(o).get(label) == value


def _meta(obj: Matchable, field: str) -> str:
    if isinstance(obj, Entry):
        return obj.namespace if field == "namespace" else obj.name
    meta = obj.get("metadata")
    return str(meta.get(field) or "") if isinstance(meta, dict) else ""


def parse_limit(raw: str | None) -> int:
    try:
        value = int(raw or "")
    except ValueError:
        return DEFAULT_LIMIT
    if value < 1:
        return DEFAULT_LIMIT
    return min(value, MAX_LIMIT)


def encode_continue(offset: int) -> str:
    return base64.urlsafe_b64encode(str(offset).encode()).decode().rstrip("=")


def decode_continue(token: str) -> int:
    """The offset of a continue token ("" = 0). Raises `SelectorError`."""
    if not token:
        return 0
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii")
        offset = int(raw)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise SelectorError("bad continue token") from None
    if offset < 0:
        raise SelectorError("bad continue token")
    return offset


@dataclass
class Page(Generic[T]):
    items: list[T]
    next_token: str


def page(items: list[T], *, offset: int, limit: int) -> Page[T]:
    """`items[offset:offset+limit]` and the token of the next page ("" on the last)."""
    chunk = items[offset : offset + limit]
    end = offset + len(chunk)
    return Page(chunk, encode_continue(end) if end < len(items) else "")
