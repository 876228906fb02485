"""Pure rules of spec §8.2: component ids, state derivation, levels, messages, snapshot items.

Everything here is a function of one HelmRelease object; no I/O, no clock.
"""

from __future__ import annotations

from typing import Any, cast

from ..timefmt import format_rfc3339_nano, parse_time
from ..wire.kit import KIT_NAMESPACE, RELEASE_PREFIX
from .types import ComponentItem, Condition, HelmReleaseObj

__all__ = [
    "DEFAULT_NAMESPACE",
    "GO_ZERO_TIME",
    "PREFIX",
    "TERMINAL_STATES",
    "component_id",
    "depends_on",
    "derive_state",
    "level_for",
    "message_for",
    "message_of",
    "ready_condition",
    "snapshot_item",
    "state_of",
]

PREFIX = RELEASE_PREFIX  # the kit's HelmReleases are `bp-<component>` (`wire.kit`)
DEFAULT_NAMESPACE = KIT_NAMESPACE
GO_ZERO_TIME = "0001-01-01T00:00:00Z"

PENDING, INSTALLING, INSTALLED, DEGRADED, FAILED = (
    "pending",
    "installing",
    "installed",
    "degraded",
    "failed",
)
TERMINAL_STATES = frozenset({INSTALLED, FAILED})

_FAILED_REASONS = frozenset(
    {"InstallFailed", "UpgradeFailed", "ChartPullError", "ChartLoadError", "ArtifactFailed"}
)
_INSTALLING_REASONS = frozenset({"Progressing", "ReconcileStarted", "DependencyNotReady"})
_DEFAULT_MESSAGES = {
    PENDING: "HelmRelease observed, waiting for first reconcile",
    INSTALLING: "Helm install in progress",
    INSTALLED: "Helm install complete; Ready=True",
    DEGRADED: "Ready=False without InstallFailed/UpgradeFailed reason",
    FAILED: "Helm install failed",
}


def component_id(name: str) -> str:
    """`bp-cilium` → `cilium`; names without the prefix are returned unchanged."""
    return name[len(PREFIX) :] if name.startswith(PREFIX) else name


def ready_condition(obj: HelmReleaseObj) -> Condition | None:
    """The `Ready` condition, if the object has one (the object's own dict, not a copy)."""
    status = obj.get("status")
    conditions = status.get("conditions") if isinstance(status, dict) else None
    if not isinstance(conditions, list):
        return None
    for cond in conditions:
        if isinstance(cond, dict) and cond.get("type") == "Ready":
            return cast(Condition, cond)
    return None


def _text(cond: Condition | None, key: str) -> str:
    value = cond.get(key) if cond is not None else None
    return value if isinstance(value, str) else ""


def state_of(cond: Condition | None) -> str:
    """The component state for a Ready condition (spec §8.2 table)."""
    if cond is None:
        return PENDING
    status = _text(cond, "status")
    if status == "True":
        return INSTALLED
    if status == "Unknown":
        return INSTALLING
    if status == "False":
        message = _text(cond, "message").lower()
        if "dependency '" in message and "is not ready" in message:
            return PENDING
        reason = _text(cond, "reason")
        if reason in _FAILED_REASONS:
            return FAILED
        if reason in _INSTALLING_REASONS:
            return INSTALLING
        return DEGRADED
    return PENDING


def derive_state(obj: HelmReleaseObj) -> str:
    """The component state from the Ready condition (spec §8.2 table)."""
    return state_of(ready_condition(obj))


def message_of(cond: Condition | None, state: str) -> str:
    """The Ready condition's message, else the state's default sentence."""
    return _text(cond, "message") or _DEFAULT_MESSAGES.get(state, "")


def level_for(state: str) -> str:
    """`failed` → error, `degraded` → warn, anything else → info."""
    if state == FAILED:
        return "error"
    if state == DEGRADED:
        return "warn"
    return "info"


def message_for(obj: HelmReleaseObj, state: str) -> str:
    """The Ready condition's message, else the state's default sentence."""
    return message_of(ready_condition(obj), state)


def depends_on(obj: HelmReleaseObj) -> list[str]:
    """`spec.dependsOn[].name` as component ids (prefix stripped, blanks dropped)."""
    spec = obj.get("spec")
    deps = spec.get("dependsOn") if isinstance(spec, dict) else None
    out: list[str] = []
    for dep in deps if isinstance(deps, list) else []:
        name = dep.get("name") if isinstance(dep, dict) else None
        if isinstance(name, str) and name.strip():
            out.append(component_id(name.strip()))
    return out


def _transition_time(cond: Condition | None) -> str:
    parsed = parse_time(_text(cond, "lastTransitionTime"))
    return GO_ZERO_TIME if parsed is None else format_rfc3339_nano(parsed)


def snapshot_item(obj: HelmReleaseObj) -> ComponentItem:
    """The components/state item of one HelmRelease (spec §8.8)."""
    meta: dict[str, Any] = obj.get("metadata") or {}
    name = str(meta.get("name") or "")
    cond = ready_condition(obj)
    state = state_of(cond)
    item = ComponentItem(
        appId=component_id(name),
        status=state,
        helmReleaseName=name,
        namespace=str(meta.get("namespace") or DEFAULT_NAMESPACE),
        lastTransitionAt=_transition_time(cond),
        message=message_of(cond, state),
    )
    deps = depends_on(obj)
    if deps:
        item["dependsOn"] = deps
    return item
