"""Label and field selectors with the apiserver's syntax and matching rules."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import bad_request

__all__ = ["FieldSelector", "LabelSelector", "Selector"]

_KEY = r"[A-Za-z0-9](?:[-A-Za-z0-9_./]*[A-Za-z0-9])?"
_SET_RE = re.compile(rf"^\s*({_KEY})\s+(in|notin)\s*\(([^)]*)\)\s*$")
_OP_RE = re.compile(rf"^\s*({_KEY})\s*(==|!=|=|>|<)\s*([-A-Za-z0-9_.]*)\s*$")
_EXISTS_RE = re.compile(rf"^\s*(!?)\s*({_KEY})\s*$")

# field paths the real apiserver accepts, beyond metadata.name / metadata.namespace
_EXTRA_FIELDS: dict[tuple[str, str], frozenset[str]] = {
    ("", "pods"): frozenset(
        {
            "status.phase",
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.podIP",
            "status.nominatedNodeName",
        }
    ),
    ("", "secrets"): frozenset({"type"}),
    ("", "nodes"): frozenset({"spec.unschedulable"}),
    ("", "namespaces"): frozenset({"status.phase"}),
    ("", "events"): frozenset(
        {
            "involvedObject.kind",
            "involvedObject.name",
            "involvedObject.namespace",
            "involvedObject.uid",
            "reason",
            "type",
            "source",
        }
    ),
}


def _split_top_level(text: str) -> list[str]:
    """Split at commas outside parentheses."""
    parts: list[str] = []
    depth, start = 0, 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p for p in (s.strip() for s in parts) if p]


Predicate = Callable[[Mapping[str, str]], bool]


def _requirement(text: str) -> Predicate:
    m = _SET_RE.match(text)
    if m:
        key, op = m.group(1), m.group(2)
        values = frozenset(v.strip() for v in m.group(3).split(",") if v.strip())
        if op == "in":
            return lambda labels: key in labels and labels[key] in values
        return lambda labels: labels.get(key) not in values
    m = _OP_RE.match(text)
    if m:
        key, op, value = m.group(1), m.group(2), m.group(3)
        if op in ("=", "=="):
            return lambda labels: labels.get(key) == value
        if op == "!=":
            return lambda labels: labels.get(key) != value
        try:
            bound = int(value)
        except ValueError:
            raise bad_request(f"unable to parse requirement: {text!r}: not an integer") from None
        if op == ">":
            return lambda labels: (
                _int_or_none(labels.get(key)) is not None and int(labels[key]) > bound
            )
        return lambda labels: _int_or_none(labels.get(key)) is not None and int(labels[key]) < bound
    m = _EXISTS_RE.match(text)
    if m:
        negate, key = m.group(1) == "!", m.group(2)
        if negate:
            return lambda labels: key not in labels
        return lambda labels: key in labels
    raise bad_request(f"unable to parse requirement: {text!r}")


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


@dataclass(frozen=True)
class LabelSelector:
    """A parsed `labelSelector` query parameter (empty selects everything)."""

    text: str
    predicates: tuple[Predicate, ...]

    @classmethod
    def parse(cls, text: str | None) -> LabelSelector:
        """Parse `a=b,c!=d,e in (x,y),!f,g`; a syntax error is a 400 BadRequest."""
        text = text or ""
        return cls(text, tuple(_requirement(p) for p in _split_top_level(text)))

    def matches(self, obj: Mapping[str, Any]) -> bool:
        """Whether `obj`'s `metadata.labels` satisfy every requirement."""
        labels = (obj.get("metadata") or {}).get("labels") or {}
        return all(p(labels) for p in self.predicates)


def field_value(obj: Mapping[str, Any], path: str) -> str:
    """The string value at a dotted path (absent → empty string), as the apiserver compares it."""
    cur: Any = obj
    for part in path.split("."):
        if not isinstance(cur, Mapping):
            return ""
        cur = cur.get(part)
    if cur is None:
        return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


@dataclass(frozen=True)
class FieldSelector:
    """A parsed `fieldSelector` (`=`, `==`, `!=` on supported field paths)."""

    text: str
    terms: tuple[tuple[str, bool, str], ...]  # (path, equal?, value)

    @classmethod
    def parse(cls, text: str | None, type_key: tuple[str, str]) -> FieldSelector:
        """Parse and check the field paths against those the resource supports."""
        text = text or ""
        allowed = {"metadata.name", "metadata.namespace"} | _EXTRA_FIELDS.get(type_key, set())
        terms: list[tuple[str, bool, str]] = []
        for part in _split_top_level(text):
            m = re.fullmatch(r"\s*([A-Za-z0-9_.]+)\s*(==|!=|=)\s*(.*?)\s*", part)
            if not m:
                raise bad_request(f"invalid selector: '{text}'; can't understand '{part}'")
            path, op, value = m.groups()
            if path not in allowed:
                raise bad_request(f'field label not supported: "{path}"')
            terms.append((path, op != "!=", value))
        return cls(text, tuple(terms))

    def matches(self, obj: Mapping[str, Any]) -> bool:
        """Whether every term holds for `obj`."""
        return all((field_value(obj, p) == v) == eq for p, eq, v in self.terms)


@dataclass(frozen=True)
class Selector:
    """Label and field selector together, plus the namespace scope of the request."""

    labels: LabelSelector
    fields: FieldSelector
    namespace: str | None = None

    def matches(self, obj: Mapping[str, Any] | None) -> bool:
        """Whether `obj` (None never matches) is selected."""
        if obj is None:
            return False
        meta = obj.get("metadata") or {}
        if self.namespace is not None and meta.get("namespace") != self.namespace:
            return False
        return self.labels.matches(obj) and self.fields.matches(obj)

    @property
    def is_empty(self) -> bool:
        """True when neither labels nor fields constrain the result."""
        return not self.labels.predicates and not self.fields.terms
