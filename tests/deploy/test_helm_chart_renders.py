"""The Helm chart lints, renders valid Kubernetes objects and honours its values."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest

CHART = Path(__file__).resolve().parents[2] / "deploy" / "helm" / "catalyst-api"
K8S_VERSION = "1.32.0"

DEFAULT_OBJECTS = {
    ("ServiceAccount", "catalyst-api"),
    ("Role", "catalyst-api-k8scache-kinds"),
    ("RoleBinding", "catalyst-api-k8scache-kinds"),
    ("PersistentVolumeClaim", "catalyst-api-deployments"),
    ("PersistentVolumeClaim", "catalyst-api-cache"),
    ("Service", "catalyst-api"),
    ("Deployment", "catalyst-api"),
}


def test_helm_lint_passes_strict_with_default_and_custom_values(
    helm: Path, run: Callable[..., Any], values_file: Callable[..., Path], custom_values: Any
) -> None:
    for extra in ([], ["-f", str(values_file(custom_values))]):
        result = run([helm, "lint", "--strict", CHART, *extra])
        assert result.returncode == 0, result.stdout + result.stderr


def test_default_render_is_exactly_the_api_objects(default_chart: Any) -> None:
    assert default_chart.object_keys() == DEFAULT_OBJECTS


def test_custom_render_adds_ingress_and_kinds_configmap(custom_chart: Any) -> None:
    assert custom_chart.object_keys() == DEFAULT_OBJECTS | {
        ("Ingress", "catalyst-api"),
        ("ConfigMap", "catalyst-k8scache-kinds"),
    }


@pytest.mark.parametrize("which", ["default_chart", "custom_chart"])
def test_every_rendered_object_passes_strict_schema_validation(
    which: str, request: pytest.FixtureRequest
) -> None:
    rendered = request.getfixturevalue(which)
    for doc in rendered.docs:
        try:
            kubernetes_validate.validate(doc.obj, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{doc.source}: {exc.message} at {list(exc.path)}")


def test_each_template_renders_at_most_one_document(custom_chart: Any) -> None:
    # deploy/sync-kustomize.sh writes one file per template; the strategy-flip dry-run applies
    # the Deployment file on its own.
    sources = [doc.source for doc in custom_chart.docs]
    assert len(sources) == len(set(sources))


def test_custom_values_reach_the_manifests(custom_chart: Any) -> None:
    pod = custom_chart.get("Deployment").obj["spec"]["template"]
    container = pod["spec"]["containers"][0]
    env = {e["name"]: e for e in container["env"]}
    assert container["image"] == "registry.example.com/platform/catalyst-api:abc1234"
    assert env["CORS_ORIGIN"]["value"] == "https://console.example.com"
    assert env["CATALYST_LOG_LEVEL"]["value"] == "debug"
    assert pod["spec"]["nodeSelector"] == {"kubernetes.io/arch": "arm64"}
    assert pod["metadata"]["annotations"]["checksum/k8scache-kinds"]

    pvc = custom_chart.get("PersistentVolumeClaim", "catalyst-api-deployments").obj
    assert pvc["spec"]["storageClassName"] == "fast-ssd"
    assert pvc["spec"]["resources"]["requests"]["storage"] == "4Gi"

    ingress = custom_chart.get("Ingress").obj["spec"]
    assert ingress["ingressClassName"] == "nginx"
    assert ingress["tls"] == [{"secretName": "catalyst-tls", "hosts": ["catalyst.example.com"]}]
    rule = ingress["rules"][0]
    assert rule["host"] == "catalyst.example.com"
    backend = rule["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": "catalyst-api", "port": {"name": "http"}}


def test_kinds_configmap_holds_one_csv_line_per_kind(custom_chart: Any) -> None:
    cm = custom_chart.get("ConfigMap", "catalyst-k8scache-kinds").obj
    assert set(cm["data"]) == {"kinds.txt"}
    lines = [
        line
        for line in cm["data"]["kinds.txt"].splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines == [
        "helmrelease,helm.toolkit.fluxcd.io,v2,helmreleases,true,false",
        "sealedsecret,bitnami.com,v1alpha1,sealedsecrets,true,true",
        "lease,,v1,leases,true,false",
    ]
    for line in lines:
        name, _group, version, resource, namespaced, sensitive = line.split(",")
        assert all((name, version, resource))
        assert {namespaced, sensitive} <= {"true", "false"}


def test_kinds_configmap_change_changes_the_pod_template(render: Callable[..., Any]) -> None:
    def checksum(resource: str) -> str:
        kind = {"name": "x", "version": "v1", "resource": resource, "namespaced": True}
        values = {"k8scache": {"kindsConfigMap": {"create": True, "kinds": [kind]}}}
        pod = render(values).get("Deployment").obj["spec"]["template"]
        return str(pod["metadata"]["annotations"]["checksum/k8scache-kinds"])

    assert checksum("xs") != checksum("ys")


def test_kinds_configmap_in_another_namespace_moves_the_role_there(
    render: Callable[..., Any],
) -> None:
    rendered = render({"k8scache": {"kindsConfigMap": {"namespace": "platform-config"}}})
    env = {
        e["name"]: e.get("value")
        for e in rendered.get("Deployment").obj["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["CATALYST_K8SCACHE_KINDS_CONFIGMAP_NAMESPACE"] == "platform-config"
    assert rendered.get("Role").obj["metadata"]["namespace"] == "platform-config"
    binding = rendered.get("RoleBinding").obj
    assert binding["metadata"]["namespace"] == "platform-config"
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "catalyst-api", "namespace": "catalyst"}
    ]


def test_empty_kinds_configmap_name_drops_rbac_and_the_token(render: Callable[..., Any]) -> None:
    rendered = render({"k8scache": {"kindsConfigMap": {"name": ""}}})
    kinds = {kind for kind, _ in rendered.object_keys()}
    assert "Role" not in kinds
    assert "RoleBinding" not in kinds
    pod = rendered.get("Deployment").obj["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
    assert env["CATALYST_K8SCACHE_KINDS_CONFIGMAP"] == ""


def test_role_grants_only_get_on_the_kinds_configmap(default_chart: Any) -> None:
    role = default_chart.get("Role").obj
    assert role["metadata"]["namespace"] == "catalyst"
    assert role["rules"] == [
        {
            "apiGroups": [""],
            "resources": ["configmaps"],
            "resourceNames": ["catalyst-k8scache-kinds"],
            "verbs": ["get"],
        }
    ]
    binding = default_chart.get("RoleBinding").obj
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": "catalyst-api-k8scache-kinds",
    }
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "catalyst-api", "namespace": "catalyst"}
    ]
    sa = default_chart.get("ServiceAccount").obj
    assert sa["automountServiceAccountToken"] is False


def test_pvcs_are_rwo_with_seed_sizes_and_no_storage_class(default_chart: Any) -> None:
    sizes = {"catalyst-api-deployments": "1Gi", "catalyst-api-cache": "5Gi"}
    for name, size in sizes.items():
        pvc = default_chart.get("PersistentVolumeClaim", name).obj
        assert pvc["spec"]["accessModes"] == ["ReadWriteOnce"]
        assert pvc["spec"]["resources"]["requests"]["storage"] == size
        assert "storageClassName" not in pvc["spec"]
        assert pvc["metadata"]["labels"] == {
            "app.kubernetes.io/name": "catalyst-api",
            "app.kubernetes.io/component": "api",
        }
        annotations = pvc["metadata"]["annotations"]
        assert annotations["helm.sh/resource-policy"] == "keep"
        assert annotations["kustomize.toolkit.fluxcd.io/prune"] == "disabled"
        assert "kustomize.toolkit.fluxcd.io/force" not in annotations


def test_service_is_cluster_ip_on_8080_to_the_named_port(default_chart: Any) -> None:
    svc = default_chart.get("Service").obj["spec"]
    assert svc["type"] == "ClusterIP"
    assert svc["selector"] == {"app.kubernetes.io/name": "catalyst-api"}
    assert svc["ports"] == [{"name": "http", "port": 8080, "targetPort": "http", "protocol": "TCP"}]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"imageTag": "x"}, "Additional property imageTag is not allowed"),
        ({"persistence": {"cache": {"size": "lots"}}}, "persistence.cache.size"),
        ({"extraEnv": [{"name": "lower-case"}]}, "extraEnv.0.name"),
        (
            {"k8scache": {"kindsConfigMap": {"create": True, "name": ""}}},
            "k8scache.kindsConfigMap.create needs k8scache.kindsConfigMap.name",
        ),
        (
            {"k8scache": {"kindsConfigMap": {"create": True, "kinds": [{"name": "a,b"}]}}},
            "kinds.0",
        ),
    ],
)
def test_bad_values_fail_the_render_with_a_pointer(
    values: dict[str, Any],
    message: str,
    helm: Path,
    run: Callable[..., Any],
    values_file: Callable[..., Path],
) -> None:
    result = run([helm, "template", "x", CHART, "-f", values_file(values)])
    assert result.returncode != 0
    assert re.search(re.escape(message), result.stderr), result.stderr


HA_VALUES: dict[str, Any] = {"database": {"enabled": True}}


def test_with_a_database_the_chart_runs_replicas_with_rolling_updates_and_no_pvc(
    render: Callable[..., Any],
) -> None:
    rendered = render(HA_VALUES)
    assert rendered.object_keys() == (
        DEFAULT_OBJECTS
        - {
            ("PersistentVolumeClaim", "catalyst-api-deployments"),
            ("PersistentVolumeClaim", "catalyst-api-cache"),
        }
    ) | {("PodDisruptionBudget", "catalyst-api")}
    deployment = rendered.get("Deployment").obj
    spec = deployment["spec"]
    assert spec["replicas"] == 2
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
    }
    # The strategy-flip guard stays: Recreate → RollingUpdate on a live object is a flip too.
    assert deployment["metadata"]["annotations"]["kustomize.toolkit.fluxcd.io/force"] == "enabled"
    pod = spec["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "persistentVolumeClaim" not in volumes["catalyst"]
    assert "emptyDir" in volumes["catalyst"] and "emptyDir" in volumes["sov-cache"]
    env = {e["name"]: e for e in pod["containers"][0]["env"]}
    assert env["CATALYST_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": "catalyst-api-database",
        "key": "uri",
    }
    assert env["CATALYST_ENCRYPTION_KEY"]["valueFrom"]["secretKeyRef"]["name"] == (
        "catalyst-api-encryption-key"
    )
    assert env["CATALYST_REPLICA_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert pod["containers"][0]["readinessProbe"]["httpGet"]["path"] == "/readyz"
    pdb = rendered.get("PodDisruptionBudget").obj["spec"]
    assert pdb == {
        "maxUnavailable": 1,
        "selector": {"matchLabels": {"app.kubernetes.io/name": "catalyst-api"}},
    }
    for doc in rendered.docs:
        try:
            kubernetes_validate.validate(doc.obj, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{doc.source}: {exc.message} at {list(exc.path)}")
