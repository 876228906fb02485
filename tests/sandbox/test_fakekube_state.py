"""FakeKubeState: the synchronous Python API other components drive the fake cluster with."""

from __future__ import annotations

import threading

import pytest

from catalyst_sandbox.fakekube import FakeKubeState, KubeApiError

HR = "helm.toolkit.fluxcd.io/v2"


def _hr(name: str, **spec: object) -> dict[str, object]:
    return {
        "apiVersion": HR,
        "kind": "HelmRelease",
        "metadata": {"name": name, "namespace": "flux-system"},
        "spec": dict(spec),
    }


def test_create_assigns_uid_timestamp_generation_and_resource_version() -> None:
    st = FakeKubeState()
    obj = st.create(_hr("bp-cilium", interval="1m"))
    meta = obj["metadata"]
    assert meta["uid"]
    assert meta["creationTimestamp"].endswith("Z")
    assert meta["generation"] == 1
    assert int(meta["resourceVersion"]) == st.resource_version
    assert obj["apiVersion"] == HR
    assert obj["kind"] == "HelmRelease"


def test_resource_version_is_one_counter_across_kinds() -> None:
    st = FakeKubeState()
    versions = [
        int(st.create(_hr("bp-a"))["metadata"]["resourceVersion"]),
        int(
            st.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}})[
                "metadata"
            ]["resourceVersion"]
        ),
        int(
            st.set_status(HR, "HelmRelease", "flux-system", "bp-a", {"x": 1})["metadata"][
                "resourceVersion"
            ]
        ),
        int(
            st.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n1"}})[
                "metadata"
            ]["resourceVersion"]
        ),
    ]
    assert versions == sorted(versions)
    assert len(set(versions)) == 4
    assert versions[-1] - versions[0] == 3


def test_generation_bumps_on_spec_change_only() -> None:
    st = FakeKubeState()
    st.create(_hr("bp-a", interval="1m"))
    after_status = st.set_status(HR, "HelmRelease", "flux-system", "bp-a", {"phase": "x"})
    assert after_status["metadata"]["generation"] == 1
    labelled = st.patch(
        HR, "HelmRelease", "flux-system", "bp-a", {"metadata": {"labels": {"a": "b"}}}
    )
    assert labelled["metadata"]["generation"] == 1
    changed = st.patch(HR, "HelmRelease", "flux-system", "bp-a", {"spec": {"interval": "5m"}})
    assert changed["metadata"]["generation"] == 2
    assert changed["status"] == {"phase": "x"}


def test_update_ignores_status_and_set_status_ignores_spec() -> None:
    st = FakeKubeState()
    created = st.create(_hr("bp-a", interval="1m"))
    created["spec"]["interval"] = "2m"
    created["status"] = {"sneaky": True}
    updated = st.update(created)
    assert updated["spec"]["interval"] == "2m"
    assert "status" not in updated
    st.set_status(HR, "HelmRelease", "flux-system", "bp-a", {"ok": True})
    assert st.get(HR, "HelmRelease", "flux-system", "bp-a")["status"] == {"ok": True}  # type: ignore[index]


def test_errors_mirror_the_apiserver() -> None:
    st = FakeKubeState()
    st.create(_hr("bp-a"))
    with pytest.raises(KubeApiError) as exists:
        st.create(_hr("bp-a"))
    assert (exists.value.code, exists.value.reason) == (409, "AlreadyExists")
    stale = st.get(HR, "HelmRelease", "flux-system", "bp-a")
    assert stale is not None
    st.patch(HR, "HelmRelease", "flux-system", "bp-a", {"spec": {"v": 2}})
    with pytest.raises(KubeApiError) as conflict:
        st.update(stale)
    assert (conflict.value.code, conflict.value.reason) == (409, "Conflict")
    with pytest.raises(KubeApiError) as missing:
        st.delete(HR, "HelmRelease", "flux-system", "nope")
    assert missing.value.status()["details"] == {
        "name": "nope",
        "kind": "helmreleases",
        "group": "helm.toolkit.fluxcd.io",
    }
    with pytest.raises(KubeApiError) as nameless:
        st.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}})
    assert (nameless.value.code, nameless.value.reason) == (422, "Invalid")
    with pytest.raises(KubeApiError) as no_ns:
        st.create(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "x", "namespace": "absent"},
            }
        )
    assert no_ns.value.code == 404
    assert st.get(HR, "HelmRelease", "flux-system", "nope") is None


def test_flux_crds_and_default_namespaces_exist_from_the_start() -> None:
    st = FakeKubeState()
    crds = {
        c["metadata"]["name"]
        for c in st.list("apiextensions.k8s.io/v1", "CustomResourceDefinition")
    }
    assert crds == {
        "helmreleases.helm.toolkit.fluxcd.io",
        "kustomizations.kustomize.toolkit.fluxcd.io",
        "gitrepositories.source.toolkit.fluxcd.io",
    }
    names = {n["metadata"]["name"] for n in st.list("v1", "Namespace")}
    assert {"default", "kube-system", "flux-system"} <= names


def test_register_crd_serves_a_new_kind_and_deleting_the_crd_removes_it() -> None:
    st = FakeKubeState()
    st.register_crd("example.io", "v1", "Widget", "widgets", short_names=("wd",))
    st.create(
        {
            "apiVersion": "example.io/v1",
            "kind": "Widget",
            "metadata": {"name": "w", "namespace": "default"},
        }
    )
    st.register_crd("example.io", "v2", "Widget", "widgets")
    assert [w["apiVersion"] for w in st.list("example.io/v2", "Widget")] == ["example.io/v2"]
    st.delete("apiextensions.k8s.io/v1", "CustomResourceDefinition", None, "widgets.example.io")
    with pytest.raises(KubeApiError):
        st.list("example.io/v1", "Widget")


def test_deleting_a_namespace_deletes_what_it_holds() -> None:
    st = FakeKubeState()
    st.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}})
    st.create(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "s", "namespace": "team"},
            "stringData": {"k": "v"},
        }
    )
    assert st.list("v1", "Secret", "team")[0]["data"] == {"k": "dg=="}
    st.delete("v1", "Namespace", None, "team")
    assert st.list("v1", "Secret", "team") == []


def test_writes_from_many_threads_get_distinct_increasing_versions() -> None:
    st = FakeKubeState()
    start = st.resource_version
    seen: list[int] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        for i in range(50):
            obj = st.create(
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c-{n}-{i}"}}
            )
            with lock:
                seen.append(int(obj["metadata"]["resourceVersion"]))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seen) == list(range(start + 1, start + 201))
