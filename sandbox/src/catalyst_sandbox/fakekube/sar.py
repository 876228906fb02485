"""SubjectAccessReview decisions from a small user → rules policy.

Policy format (YAML or JSON, the same shape as the `sar_policy` mapping)::

    users:
      alice:
        - verbs: [get, list, watch]     # "*" = any verb
          groups: [""]                  # API groups; "" = core; "*" = any
          resources: [pods, pods/log]   # "res", "res/sub", "res/*", "*"
          namespaces: [default]         # "*" = any, "" = cluster-scoped requests
    groups:                             # optional: rules for members of a user group
      system:masters: [{verbs: ["*"]}]

A missing rule field means "*". Non-resource requests match rules with `nonResourceURLs`
(exact paths, `/prefix/*` or `*`) and `verbs`. No policy at all allows everything; with a
policy, a request no rule allows is answered `allowed: false, denied: true`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .errors import KubeApiError

__all__ = ["SarPolicy", "SarRule", "allow_all_status", "review_response"]


def _names(rule: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = rule.get(key, ["*"])
    return tuple(str(v) for v in ([value] if isinstance(value, str) else value))


@dataclass(frozen=True)
class SarRule:
    """One allow rule."""

    verbs: tuple[str, ...] = ("*",)
    groups: tuple[str, ...] = ("*",)
    resources: tuple[str, ...] = ("*",)
    namespaces: tuple[str, ...] = ("*",)
    non_resource_urls: tuple[str, ...] = ()

    @classmethod
    def from_mapping(cls, rule: Mapping[str, Any]) -> SarRule:
        """Build from `{"verbs": [...], "groups": [...], ...}`."""
        return cls(
            _names(rule, "verbs"),
            _names(rule, "groups"),
            _names(rule, "resources"),
            _names(rule, "namespaces"),
            tuple(rule.get("nonResourceURLs") or ()),
        )

    def allows_resource(self, attrs: Mapping[str, Any]) -> bool:
        """Whether this rule covers the `resourceAttributes` of a review."""
        resource = str(attrs.get("resource") or "")
        sub = str(attrs.get("subresource") or "")
        wanted = {"*", f"{resource}/{sub}", f"{resource}/*"} if sub else {"*", resource}
        namespace = str(attrs.get("namespace") or "")
        return (
            ("*" in self.verbs or str(attrs.get("verb") or "") in self.verbs)
            and ("*" in self.groups or str(attrs.get("group") or "") in self.groups)
            and bool(wanted & set(self.resources))
            and ("*" in self.namespaces or namespace in self.namespaces)
        )

    def allows_path(self, attrs: Mapping[str, Any]) -> bool:
        """Whether this rule covers the `nonResourceAttributes` of a review."""
        path, verb = str(attrs.get("path") or ""), str(attrs.get("verb") or "")
        if "*" not in self.verbs and verb not in self.verbs:
            return False
        return any(
            u == "*" or u == path or (u.endswith("*") and path.startswith(u[:-1]))
            for u in self.non_resource_urls
        )


@dataclass(frozen=True)
class SarPolicy:
    """Allow rules per user and per user group."""

    users: Mapping[str, tuple[SarRule, ...]]
    groups: Mapping[str, tuple[SarRule, ...]]

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> SarPolicy:
        """Build from the documented `{"users": {...}, "groups": {...}}` shape."""

        def rules(section: Any) -> dict[str, tuple[SarRule, ...]]:
            return {
                str(k): tuple(SarRule.from_mapping(r) for r in v or ())
                for k, v in (section or {}).items()
            }

        return cls(rules(data.get("users")), rules(data.get("groups")))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> SarPolicy:
        """Read a YAML or JSON policy file."""
        text = Path(path).read_text(encoding="utf-8")
        data = json.loads(text) if text.lstrip().startswith("{") else yaml.safe_load(text)
        return cls.from_mapping(data or {})

    def review(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        """The `status` of a SubjectAccessReview with this `spec`."""
        user = str(spec.get("user") or "")
        member_of = [str(g) for g in spec.get("groups") or ()]
        candidates = [*self.users.get(user, ())]
        for group in member_of:
            candidates.extend(self.groups.get(group, ()))
        res, nonres = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
        if isinstance(res, Mapping):
            ok = any(r.allows_resource(res) for r in candidates)
            sub = f"/{res['subresource']}" if res.get("subresource") else ""
            group = res.get("group") or '""'
            where = res.get("namespace") or "(cluster)"
            what = (
                f"{res.get('verb')} {res.get('resource')}{sub} in group {group}"
                f" in namespace {where}"
            )
        else:
            nonres = nonres if isinstance(nonres, Mapping) else {}
            ok = any(r.allows_path(nonres) for r in candidates)
            what = f"{nonres.get('verb')} {nonres.get('path')}"
        if ok:
            return {"allowed": True, "reason": f"fakekube policy allows {user!r} to {what}"}
        return {
            "allowed": False,
            "denied": True,
            "reason": f"fakekube policy has no rule allowing {user!r} to {what}",
        }


def allow_all_status(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The decision when no policy is configured."""
    return {"allowed": True, "reason": "fakekube: no SubjectAccessReview policy, allow all"}


def _invalid(field: str, detail: str) -> KubeApiError:
    return KubeApiError(
        422,
        "Invalid",
        f'SubjectAccessReview.authorization.k8s.io "" is invalid: {field}: Invalid value: {detail}',
    )


def review_response(policy: SarPolicy | None, review: Mapping[str, Any]) -> dict[str, Any]:
    """The answer to a posted SubjectAccessReview (422 Invalid for a malformed spec)."""
    spec = review.get("spec") or {}
    if not (spec.get("user") or spec.get("groups")):
        raise _invalid("spec.user", '"": at least one of user or group must be specified')
    if bool(spec.get("resourceAttributes")) == bool(spec.get("nonResourceAttributes")):
        raise _invalid(
            "spec.resourceAttributes",
            "exactly one of nonResourceAttributes or resourceAttributes must be specified",
        )
    status = policy.review(spec) if policy else allow_all_status(spec)
    return {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "metadata": {"creationTimestamp": None},
        "spec": spec,
        "status": status,
    }
