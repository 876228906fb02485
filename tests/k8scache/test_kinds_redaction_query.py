"""Pure parts: the kinds registry and its CSV format, redaction, selectors and paging, fan-out."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from catalyst_api.k8scache import (
    DEFAULT_KINDS,
    RESYNC,
    Kind,
    KindRegistry,
    SelectorError,
    build_registry,
    load_registry,
    parse_kinds_csv,
    redact,
)
from catalyst_api.k8scache.fanout import Fanout, Published
from catalyst_api.k8scache.metrics import CacheMetrics
from catalyst_api.k8scache.query import (
    decode_continue,
    encode_continue,
    field_matcher,
    label_matcher,
    page,
    parse_limit,
)
from catalyst_api.k8scache.redact import LAST_APPLIED, strip_managed_fields
from catalyst_api.k8scache.sar import SarGate
from catalyst_api.k8scache.types import CacheEvent
from catalyst_api.kube import KubeClient
from catalyst_sandbox.fakekube import FakeKubeServer


def test_defaults_are_the_upstream_table_plus_flux_and_the_infrastructure_page_kinds() -> None:
    names = [k.name for k in DEFAULT_KINDS]
    # spec §6.4 says 23 entries but its table lists 22; all 22 are here, plus 3 Flux kinds,
    # vcluster.io vclusters and the 8 Day-2 claim kinds (issue 13).
    assert len(names) == 34 == len(set(names))
    claims = {k.name: k for k in DEFAULT_KINDS if k.group == "infra.openova.io"}
    assert sorted(claims) == sorted(
        f"{n}claim"
        for n in (
            "region",
            "cluster",
            "vcluster",
            "nodepool",
            "loadbalancer",
            "peering",
            "firewallrule",
            "nodeaction",
        )
    )
    assert all(k.namespaced and k.resource == f"{k.name}s" for k in claims.values())
    assert "vcluster.io" in names
    assert {"helmrelease", "kustomization", "gitrepository", "server.hcloud", "podmetrics"} <= set(
        names
    )
    assert {k.name for k in DEFAULT_KINDS if k.sensitive} == {"configmap", "secret"}


def test_event_is_never_cached_whatever_the_configuration_says() -> None:
    registry = build_registry(parse_kinds_csv("event,,v1,events,true\n", source="t"))
    assert "event" not in registry.names() and registry.get("events") is None
    with pytest.raises(ValueError, match="never cached"):
        registry.add(Kind("myevents", "events.k8s.io", "v1", "events", True))
    assert all(k.resource != "events" for k in DEFAULT_KINDS)


@pytest.mark.parametrize(
    ("alias", "name"),
    [
        ("Pod", "pod"),
        ("pods", "pod"),
        ("po", "pod"),
        ("SVC", "service"),
        ("deploy", "deployment"),
        ("cm", "configmap"),
        ("pvc", "persistentvolumeclaim"),
        ("HelmReleases", "helmrelease"),
    ],
)
def test_get_is_case_insensitive_and_resolves_plurals_and_short_aliases(
    alias: str, name: str
) -> None:
    kind = KindRegistry().get(alias)
    assert kind is not None and kind.name == name


def test_csv_lines_merge_on_top_of_defaults_and_bad_lines_are_skipped() -> None:
    text = (
        "# comment\n\n"
        "certificate,cert-manager.io,v1,certificates,TRUE\n"
        "vault,vault.io,v1,vaults,true,True\n"
        "pod,,v1,pods,false\n"
        "short,line\n"
        ",g,v1,things,true\n"
    )
    registry = build_registry(parse_kinds_csv(text, source="test"))
    cert = registry.get("certificate")
    assert cert is not None and cert.namespaced and not cert.sensitive
    vault = registry.get("vault")
    assert vault is not None and vault.sensitive
    pod = registry.get("pod")
    assert pod is not None and not pod.namespaced
    assert len(registry) == len(DEFAULT_KINDS) + 2


async def test_kinds_file_extends_the_registry_and_an_unreadable_one_keeps_defaults(
    tmp_path: Path,
) -> None:
    path = tmp_path / "kinds.txt"
    path.write_text("certificate,cert-manager.io,v1,certificates,true\n")
    registry = await load_registry(kinds_file=path, configmap="", namespace="catalyst")
    assert registry.get("certificate") is not None
    missing = await load_registry(kinds_file=tmp_path / "nope", configmap="", namespace="x")
    assert len(missing) == len(DEFAULT_KINDS)


async def test_configmap_off_cluster_is_skipped_with_the_defaults() -> None:
    registry = await load_registry(kinds_file=None, configmap="kinds", namespace="catalyst")
    assert len(registry) == len(DEFAULT_KINDS)


SECRET = KindRegistry().get("secret")
CONFIGMAP = KindRegistry().get("configmap")
POD = KindRegistry().get("pod")


def test_sensitive_objects_lose_values_binary_data_and_last_applied() -> None:
    assert SECRET is not None and CONFIGMAP is not None
    obj: dict[str, Any] = {
        "kind": "ConfigMap",
        "metadata": {"name": "x", "annotations": {LAST_APPLIED: "{...}", "keep": "me"}},
        "data": {"b": "1"},
        "binaryData": {"a": "AAE="},
        "stringData": {"c": "2"},
    }
    out = redact(obj, CONFIGMAP)
    assert "data" not in out and "binaryData" not in out and "stringData" not in out
    assert out["redactedKeys"] == ["a", "b", "c"] and out["redactedValue"] == "<redacted>"
    assert out["metadata"]["annotations"] == {"keep": "me"}
    assert obj["data"] == {"b": "1"}  # the input is not modified
    empty = redact({"metadata": {"name": "e"}}, SECRET)
    assert "redactedKeys" not in empty


def test_other_objects_pass_unchanged_and_managed_fields_are_stripped() -> None:
    assert POD is not None
    obj = {"metadata": {"name": "p", "managedFields": [{"manager": "x"}]}, "data": {"k": "v"}}
    assert redact(obj, POD) is obj
    assert strip_managed_fields(obj)["metadata"] == {"name": "p"}


def _o(name: str, ns: str = "a", **labels: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": ns, "labels": labels}}


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("app=web", ["w1", "w2"]),
        ("app==web,tier!=db", ["w1"]),
        ("app in (web, db)", ["w1", "w2", "d"]),
        ("app notin (web)", ["d", "n"]),
        ("tier", ["w2", "d"]),
        ("!tier", ["w1", "n"]),
    ],
)
def test_label_selectors_follow_the_kubernetes_grammar(selector: str, expected: list[str]) -> None:
    objs = [
        _o("w1", app="web"),
        _o("w2", app="web", tier="db"),
        _o("d", app="db", tier="x"),
        _o("n"),
    ]
    match = label_matcher(selector)
    assert match is not None
    assert [o["metadata"]["name"] for o in objs if match(o)] == expected


@pytest.mark.parametrize("selector", ["app=(", "a b c", "app in (x", "=x", "a,,b"])
def test_a_bad_label_selector_is_refused(selector: str) -> None:
    with pytest.raises(SelectorError):
        label_matcher(selector)


def test_field_selector_supports_name_namespace_and_labels_and_ignores_the_rest() -> None:
    match = field_matcher("metadata.namespace=b,metadata.labels.app=web,status.phase=Running")
    assert match is not None
    assert match(_o("x", "b", app="web")) and not match(_o("x", "a", app="web"))
    name = field_matcher("metadata.name==x")
    assert name is not None and name(_o("x")) and not name(_o("y"))
    assert field_matcher("spec.nodeName=n1") is None


def test_paging_tokens_are_unpadded_base64url_offsets_and_limits_are_clamped() -> None:
    assert encode_continue(2) == "Mg" and decode_continue("Mg") == 2
    items = [_o(str(i)) for i in range(5)]
    first = page(items, offset=0, limit=2)
    assert len(first.items) == 2 and decode_continue(first.next_token) == 2
    assert page(items, offset=4, limit=2).next_token == ""
    assert [parse_limit(v) for v in (None, "0", "-3", "x", "7", "9000")] == [
        500,
        500,
        500,
        500,
        7,
        5000,
    ]
    with pytest.raises(SelectorError):
        decode_continue("!!")


def _event(n: int) -> CacheEvent:
    return CacheEvent(cluster="c", kind="pod", type="ADDED", object={"n": n}, at="")


async def test_a_full_subscriber_drops_the_oldest_counts_it_and_is_told_to_resync() -> None:
    drops: list[tuple[str, str]] = []
    fanout = Fanout(buffer=3, on_drop=lambda c, k: drops.append((c, k)))
    slow = fanout.subscribe("c", frozenset(), "")
    other_kind = fanout.subscribe("c", frozenset({"node"}), "")
    for n in range(5):
        fanout.publish(_event(n))
    assert drops == [("c", "pod"), ("c", "pod")] and slow.dropped == 2
    assert await slow.next(0.1) == RESYNC
    got = [await slow.next(0.1) for _ in range(3)]
    assert [e.event["object"]["n"] for e in got if isinstance(e, Published)] == [2, 3, 4]
    assert await slow.next(0.01) is None
    assert await other_kind.next(0.01) is None


async def test_one_change_is_encoded_once_for_every_subscriber_of_its_cluster() -> None:
    fanout = Fanout()
    subs = [fanout.subscribe("c", frozenset(), "") for _ in range(3)]
    elsewhere = fanout.subscribe("other", frozenset(), "")
    fanout.publish(_event(7))
    got = [await s.next(0.1) for s in subs]
    assert all(isinstance(g, Published) for g in got)
    frames = [g.frame() for g in got if isinstance(g, Published)]
    assert (
        frames[0]
        == b'data: {"cluster":"c","kind":"pod","type":"ADDED","object":{"n":7},"at":""}\n\n'
    )
    assert all(f is frames[0] for f in frames), "one encoded frame shared, not one per reader"
    assert await elsewhere.next(0.01) is None


async def test_the_home_cluster_configmap_extends_the_kinds_and_a_missing_one_warns(
    log_text: Callable[[], str],
) -> None:
    async with FakeKubeServer(token="t") as home:
        home.state.create(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "catalyst"}}
        )
        home.state.create(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "catalyst-k8scache-kinds", "namespace": "catalyst"},
                "data": {
                    "kinds": "x",
                    "kinds.txt": "helmrelease,helm.toolkit.fluxcd.io,v2,helmreleases,true,true\n",
                },
            }
        )

        def client() -> KubeClient:
            return KubeClient.from_kubeconfig(home.kubeconfig_yaml().encode())

        registry = await load_registry(
            kinds_file=None, configmap="catalyst-k8scache-kinds", namespace="catalyst", home=client
        )
        helmrelease = registry.get("helmrelease")
        assert helmrelease is not None and helmrelease.sensitive
        missing = await load_registry(
            kinds_file=None, configmap="absent", namespace="catalyst", home=client
        )
        assert len(missing) == len(DEFAULT_KINDS)
        assert log_text().count("kinds ConfigMap unreadable") == 1


async def test_the_kinds_configmap_is_read_with_the_pods_service_account_over_tls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The in-cluster path as a Pod runs it: token, CA and namespace from the mounted service
    account directory, the apiserver from KUBERNETES_SERVICE_HOST/PORT, TLS verified against
    that CA (a wrong CA is refused and leaves the defaults)."""
    async with FakeKubeServer(token="sa-token", tls=True) as home:
        home.state.create(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "catalyst"}}
        )
        home.state.create(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "catalyst-k8scache-kinds", "namespace": "catalyst"},
                "data": {"kinds.txt": "widget,example.com,v1,widgets,true,false\n"},
            }
        )
        account = tmp_path / "serviceaccount"
        account.mkdir()
        (account / "token").write_text("sa-token")
        (account / "namespace").write_text("catalyst")
        assert home.ca_pem is not None
        (account / "ca.crt").write_bytes(home.ca_pem)
        monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
        monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(home.port))

        def in_cluster() -> KubeClient:
            return KubeClient.in_cluster(service_account_dir=account)

        registry = await load_registry(
            kinds_file=None,
            configmap="catalyst-k8scache-kinds",
            namespace="catalyst",
            home=in_cluster,
        )
        widget = registry.get("widget")
        assert widget is not None and widget.group == "example.com" and widget.namespaced

        async with FakeKubeServer(token="x", tls=True) as stranger:
            assert stranger.ca_pem is not None
            (account / "ca.crt").write_bytes(stranger.ca_pem)
            untrusted = await load_registry(
                kinds_file=None,
                configmap="catalyst-k8scache-kinds",
                namespace="catalyst",
                home=in_cluster,
            )
        assert untrusted.get("widget") is None
        assert len(untrusted) == len(DEFAULT_KINDS)


async def test_sar_decisions_are_cached_for_their_ttl_then_asked_again() -> None:
    """Allow and deny are both cached for the TTL (30 s by default), asked again once it has
    passed; an apiserver error denies and is not cached."""
    now = [1000.0]
    metrics = CacheMetrics(CollectorRegistry())
    gate = SarGate(metrics=metrics, ttl=30.0, clock=lambda: now[0])
    policy = {
        "users": {
            "alice": [
                {"verbs": ["get"], "groups": [""], "resources": ["pods"], "namespaces": ["a"]}
            ]
        }
    }
    pod_kind = build_registry().get("pod")
    assert pod_kind is not None

    def counted(name: str) -> float:
        sample = metrics.registry.get_sample_value(name, {"cluster": "c", "kind": "pod"})
        return sample or 0.0

    async with (
        FakeKubeServer(token="t", sar_policy=policy) as kube,
        KubeClient.from_kubeconfig(kube.kubeconfig_yaml().encode()) as client,
    ):

        async def ask(namespace: str) -> bool:
            return await gate.allowed(
                user="alice", cluster="c", client=client, kind=pod_kind, namespace=namespace
            )

        assert await ask("a") is True and await ask("b") is False
        assert counted("catalyst_k8scache_sar_cache_miss_total") == 2
        now[0] += 29.0
        assert await ask("a") is True and await ask("b") is False
        assert counted("catalyst_k8scache_sar_cache_hits_total") == 2, "both cached"
        now[0] += 2.0  # past the TTL: asked again
        kube.faults.fail_next(1, status=500)
        assert await ask("a") is False, "an error denies"
        assert await ask("a") is True, "and was not cached"
        assert await ask("b") is False
        assert counted("catalyst_k8scache_sar_cache_miss_total") == 5
