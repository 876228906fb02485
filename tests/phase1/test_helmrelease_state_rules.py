"""Spec §8.2 rules as tables: state derivation, component ids, levels, messages, snapshot."""

from __future__ import annotations

from typing import Any

import pytest

from catalyst_api.phase1 import (
    component_id,
    depends_on,
    derive_state,
    level_for,
    message_for,
    persisted_components,
    snapshot_item,
)


def _hr(status: str | None, reason: str = "", message: str = "", **meta: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "metadata": {"name": "bp-cilium", "namespace": "flux-system", **meta},
        "spec": {},
    }
    if status is not None:
        obj["status"] = {
            "conditions": [
                {"type": "Reconciling", "status": "True", "reason": "Progressing"},
                {"type": "Ready", "status": status, "reason": reason, "message": message},
            ]
        }
    return obj


@pytest.mark.parametrize(
    ("status", "reason", "message", "state"),
    [
        (None, "", "", "pending"),
        ("True", "InstallSucceeded", "", "installed"),
        ("Unknown", "Progressing", "", "installing"),
        ("False", "InstallFailed", "boom", "failed"),
        ("False", "UpgradeFailed", "", "failed"),
        ("False", "ChartPullError", "", "failed"),
        ("False", "ChartLoadError", "", "failed"),
        ("False", "ArtifactFailed", "", "failed"),
        ("False", "Progressing", "", "installing"),
        ("False", "ReconcileStarted", "", "installing"),
        ("False", "DependencyNotReady", "", "installing"),
        ("False", "RetryExhausted", "", "degraded"),
        ("False", "SomethingElse", "", "degraded"),
        ("False", "InstallFailed", "dependency 'flux-system/bp-x' is not ready", "pending"),
        ("False", "DependencyNotReady", "Dependency 'flux-system/bp-x' IS NOT READY", "pending"),
        ("Weird", "", "", "pending"),
    ],
    ids=lambda v: str(v),
)
def test_state_is_derived_from_the_ready_condition(
    status: str | None, reason: str, message: str, state: str
) -> None:
    assert derive_state(_hr(status, reason, message)) == state  # type: ignore[arg-type]


def test_object_without_conditions_list_is_pending() -> None:
    assert derive_state({"metadata": {"name": "bp-a"}, "status": {"conditions": "x"}}) == "pending"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("bp-cilium", "cilium"),
        ("bp-catalyst-platform", "catalyst-platform"),
        ("cilium", "cilium"),
        ("", ""),
        ("bp-", ""),
    ],
)
def test_component_id_strips_the_bp_prefix(name: str, expected: str) -> None:
    assert component_id(name) == expected


@pytest.mark.parametrize(
    ("state", "level"),
    [
        ("failed", "error"),
        ("degraded", "warn"),
        ("installed", "info"),
        ("pending", "info"),
        ("installing", "info"),
    ],
)
def test_level_follows_state(state: str, level: str) -> None:
    assert level_for(state) == level


@pytest.mark.parametrize(
    ("state", "message"),
    [
        ("pending", "HelmRelease observed, waiting for first reconcile"),
        ("installing", "Helm install in progress"),
        ("installed", "Helm install complete; Ready=True"),
        ("degraded", "Ready=False without InstallFailed/UpgradeFailed reason"),
        ("failed", "Helm install failed"),
    ],
)
def test_default_messages_per_state(state: str, message: str) -> None:
    assert message_for(_hr(None), state) == message  # type: ignore[arg-type]


def test_ready_condition_message_wins_over_the_default() -> None:
    obj = _hr("False", "InstallFailed", "chart not found")
    assert message_for(obj, "failed") == "chart not found"  # type: ignore[arg-type]


def test_snapshot_item_has_the_components_state_shape() -> None:
    obj = _hr("True", "InstallSucceeded", "Helm install succeeded")
    obj["status"]["conditions"][1]["lastTransitionTime"] = "2026-04-30T10:00:05+02:00"
    obj["spec"]["dependsOn"] = [{"name": "bp-cert-manager"}, {"name": "flux"}, {"name": " "}]
    assert snapshot_item(obj) == {  # type: ignore[arg-type]
        "appId": "cilium",
        "status": "installed",
        "helmReleaseName": "bp-cilium",
        "namespace": "flux-system",
        "lastTransitionAt": "2026-04-30T08:00:05Z",
        "message": "Helm install succeeded",
        "dependsOn": ["cert-manager", "flux"],
    }


def test_snapshot_item_without_ready_condition_or_deps() -> None:
    obj = {"metadata": {"name": "bp-flux"}, "spec": {}}
    item = snapshot_item(obj)  # type: ignore[arg-type]
    assert item["lastTransitionAt"] == "0001-01-01T00:00:00Z"
    assert item["namespace"] == "flux-system"
    assert item["status"] == "pending"
    assert "dependsOn" not in item
    assert depends_on(obj) == []  # type: ignore[arg-type]


def test_persisted_states_become_items_without_a_live_watcher() -> None:
    assert persisted_components({"flux": "installed", "cilium": "failed"}) == [
        {
            "appId": "cilium",
            "status": "failed",
            "helmReleaseName": "bp-cilium",
            "namespace": "flux-system",
            "lastTransitionAt": "0001-01-01T00:00:00Z",
            "message": "",
        },
        {
            "appId": "flux",
            "status": "installed",
            "helmReleaseName": "bp-flux",
            "namespace": "flux-system",
            "lastTransitionAt": "0001-01-01T00:00:00Z",
            "message": "",
        },
    ]
