"""Which failures are final, what they block, and the sentence that names them (issue 14).

Pure functions of HelmRelease objects and component states; no I/O, no clock.

- A `failed` release is *terminally* failed when Helm's remediation is exhausted: a `Stalled`
  condition that is `True`, or more install (upgrade) failures than
  `spec.install.remediation.retries` (`spec.upgrade…`; Flux's default is 0, a negative value
  retries forever). A release without a failure counter counts as failed once.
- A component is *blocked* when it is not installed and one of its transitive `dependsOn`
  ancestors is terminally failed: Flux will not install it until someone fixes that ancestor.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from ..wire.kit import COMPONENT_IDS
from .derive import FAILED, INSTALLED, ready_condition
from .types import HelmReleaseObj

__all__ = [
    "BLOCKED_PREFIX",
    "MAX_CAUSE_CHARS",
    "blocked_by",
    "blocked_message",
    "blocking_components",
    "failure_summary",
    "kit_sorted",
    "terminally_failed",
]

MAX_CAUSE_CHARS = 400
"""Longest Helm message quoted per failed component in the deployment's `error`."""

BLOCKED_PREFIX = "blocked: depends on "
"""How the event of a newly blocked component starts (docs/API.md)."""

_BLOCKED = re.compile(r"^blocked: depends on (.+?), which (?:has|have) failed for good")


def _condition_true(obj: HelmReleaseObj, kind: str) -> bool:
    status = obj.get("status")
    conditions = status.get("conditions") if isinstance(status, dict) else None
    for cond in conditions if isinstance(conditions, list) else []:
        if isinstance(cond, dict) and cond.get("type") == kind:
            return cond.get("status") == "True"
    return False


def _int(value: object, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _retries(obj: HelmReleaseObj, action: str) -> int:
    spec = obj.get("spec")
    section = spec.get(action) if isinstance(spec, dict) else None
    remediation = section.get("remediation") if isinstance(section, dict) else None
    return _int(remediation.get("retries") if isinstance(remediation, dict) else None, 0)


def terminally_failed(obj: HelmReleaseObj, state: str) -> bool:
    """`state` is `failed` and Flux will not try again by itself (see the module docstring)."""
    if state != FAILED:
        return False
    if _condition_true(obj, "Stalled"):
        return True
    cond = ready_condition(obj)
    action = "upgrade" if cond is not None and cond.get("reason") == "UpgradeFailed" else "install"
    retries = _retries(obj, action)
    if retries < 0:
        return False
    status = obj.get("status")
    counter = status.get(f"{action}Failures") if isinstance(status, dict) else None
    return _int(counter, 1) > retries


def blocked_by(
    states: Mapping[str, str],
    depends_on: Mapping[str, Sequence[str]],
    failed: Iterable[str],
) -> dict[str, list[str]]:
    """Component → the terminally failed ancestors it waits for (kit order), for every
    component that is not installed, not failed itself and has at least one."""
    final = set(failed)
    memo: dict[str, set[str]] = {}

    def roots(component: str, trail: frozenset[str]) -> set[str]:
        if component in memo:
            return memo[component]
        found: set[str] = set()
        for dep in depends_on.get(component, ()):
            if dep in final:
                found.add(dep)
            elif dep not in trail:  # a cycle (a broken kit) is not followed twice
                found |= roots(dep, trail | {dep})
        memo[component] = found
        return found

    out: dict[str, list[str]] = {}
    for component, state in states.items():
        if state == INSTALLED or component in final:
            continue
        ancestors = roots(component, frozenset({component}))
        if ancestors:
            out[component] = kit_sorted(ancestors)
    return out


def kit_sorted(components: Iterable[str]) -> list[str]:
    """Kit install order first, then anything else by name."""
    order = {cid: i for i, cid in enumerate(COMPONENT_IDS)}
    return sorted(set(components), key=lambda c: (order.get(c, len(order)), c))


def blocked_message(ancestors: Sequence[str]) -> str:
    """The event message of a newly blocked component."""
    names = ", ".join(ancestors)
    verb = "has" if len(ancestors) == 1 else "have"
    return (
        f"{BLOCKED_PREFIX}{names}, which {verb} failed for good (Helm's remediation is "
        "exhausted); Flux will not install it until that is fixed"
    )


def blocking_components(message: str) -> list[str]:
    """The failed components a `blocked_message` names (empty for any other message)."""
    found = _BLOCKED.match(message)
    return found.group(1).split(", ") if found else []


def _bounded(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= MAX_CAUSE_CHARS else flat[: MAX_CAUSE_CHARS - 1] + "…"


def failure_summary(messages: Mapping[str, str], blocked: Mapping[str, Sequence[str]]) -> str:
    """`"cilium failed: <Helm message>; 10 components blocked by it: cert-manager, …"` for
    each failed component (`messages`: component → its last Helm message), joined by `"; "`."""
    parts: list[str] = []
    for component in kit_sorted(messages):
        text = f"{component} failed: {_bounded(messages[component]) or 'Helm install failed'}"
        victims = kit_sorted(c for c, roots in blocked.items() if component in roots)
        if victims:
            noun = "component" if len(victims) == 1 else "components"
            text += f"; {len(victims)} {noun} blocked by it: {', '.join(victims)}"
        parts.append(text)
    return "; ".join(parts)
