"""Patch formats and selector syntax, as pure functions."""

from __future__ import annotations

import pytest

from catalyst_sandbox.fakekube import KubeApiError
from catalyst_sandbox.fakekube.patching import (
    json_patch,
    merge_patch,
    strategic_merge_patch,
)
from catalyst_sandbox.fakekube.selectors import FieldSelector, LabelSelector

POD_SPEC = {
    "containers": [
        {
            "name": "app",
            "image": "app:1",
            "ports": [{"containerPort": 80, "name": "http"}],
            "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
        },
        {"name": "sidecar", "image": "side:1"},
    ],
    "tolerations": [{"key": "x"}],
}


def test_merge_patch_merges_maps_replaces_lists_and_null_deletes() -> None:
    target = {"a": {"b": 1, "c": 2}, "l": [1, 2]}
    assert merge_patch(target, {"a": {"b": None, "d": 3}, "l": [3]}) == {
        "a": {"c": 2, "d": 3},
        "l": [3],
    }
    assert target == {"a": {"b": 1, "c": 2}, "l": [1, 2]}


def test_strategic_merge_merges_containers_env_and_ports_by_key() -> None:
    patched = strategic_merge_patch(
        {"spec": POD_SPEC},
        {
            "spec": {
                "containers": [
                    {
                        "name": "app",
                        "image": "app:2",
                        "env": [{"name": "B", "value": "20"}, {"name": "C", "value": "3"}],
                        "ports": [{"containerPort": 443}],
                    }
                ],
                "tolerations": [{"key": "y"}],
            }
        },
    )["spec"]
    app = patched["containers"][0]
    assert [c["name"] for c in patched["containers"]] == ["app", "sidecar"]
    assert app["image"] == "app:2"
    assert app["env"] == [
        {"name": "A", "value": "1"},
        {"name": "B", "value": "20"},
        {"name": "C", "value": "3"},
    ]
    assert [p["containerPort"] for p in app["ports"]] == [80, 443]
    assert patched["tolerations"] == [{"key": "y"}]


def test_strategic_merge_directives() -> None:
    spec = {"spec": POD_SPEC, "metadata": {"finalizers": ["a"]}}
    deleted = strategic_merge_patch(
        spec, {"spec": {"containers": [{"name": "sidecar", "$patch": "delete"}]}}
    )
    assert [c["name"] for c in deleted["spec"]["containers"]] == ["app"]
    replaced = strategic_merge_patch(spec, {"spec": {"$patch": "replace", "containers": []}})
    assert replaced["spec"] == {"containers": []}
    ordered = strategic_merge_patch(
        spec, {"spec": {"$setElementOrder/containers": [{"name": "sidecar"}, {"name": "app"}]}}
    )
    assert [c["name"] for c in ordered["spec"]["containers"]] == ["sidecar", "app"]
    finalizers = strategic_merge_patch(
        spec, {"metadata": {"finalizers": ["b"], "$deleteFromPrimitiveList/finalizers": ["a"]}}
    )
    assert finalizers["metadata"]["finalizers"] == ["b"]
    retained = strategic_merge_patch(
        {"s": {"type": "A", "a": 1}}, {"s": {"$retainKeys": ["type"], "type": "B"}}
    )
    assert retained == {"s": {"type": "B"}}


def test_json_patch_operations_and_failed_test() -> None:
    doc = {"metadata": {"labels": {"a/b": "1"}}, "items": [1, 2]}
    patched = json_patch(
        doc,
        [
            {"op": "add", "path": "/items/-", "value": 3},
            {"op": "remove", "path": "/metadata/labels/a~1b"},
            {"op": "copy", "from": "/items/0", "path": "/first"},
            {"op": "move", "from": "/first", "path": "/moved"},
            {"op": "replace", "path": "/items/1", "value": 20},
            {"op": "test", "path": "/moved", "value": 1},
        ],
    )
    assert patched == {"metadata": {"labels": {}}, "items": [1, 20, 3], "moved": 1}
    with pytest.raises(KubeApiError) as failed:
        json_patch(doc, [{"op": "test", "path": "/items/0", "value": 9}])
    assert failed.value.code == 422


def test_selector_syntax_errors_are_400() -> None:
    with pytest.raises(KubeApiError) as bad_label:
        LabelSelector.parse("a in b")
    assert bad_label.value.code == 400
    with pytest.raises(KubeApiError) as bad_field:
        FieldSelector.parse("spec.containers=1", ("", "pods"))
    assert bad_field.value.code == 400


def test_set_based_and_numeric_label_requirements() -> None:
    sel = LabelSelector.parse("env in (prod, stage),tier notin (db),!legacy,rank>2")
    assert sel.matches({"metadata": {"labels": {"env": "prod", "tier": "fe", "rank": "3"}}})
    assert not sel.matches({"metadata": {"labels": {"env": "prod", "rank": "1"}}})
    assert not sel.matches({"metadata": {"labels": {"env": "dev", "rank": "5"}}})
