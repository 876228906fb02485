"""The Kubernetes objects a simulated Sovereign holds, as plain dicts.

What cloud-init applies (spec §6.4: the `flux-system/ghcr-pull` Secret, the `openova`
GitRepository, the `bootstrap-kit` and `infrastructure-config` Kustomizations), what the Flux
install brings (controller Deployments and Pods, `app=<controller>` labels), the nodes, and the
bootstrap kit's HelmReleases with the Ready conditions helm-controller writes.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from .kit import CHART_VERSION, KIT_NAMESPACE, Component, dependencies, release_name

__all__ = [
    "FLUX_CONTROLLERS",
    "HELM_REPOSITORY_CRD",
    "Obj",
    "condition",
    "controller_pod_name",
    "flux_bootstrap_objects",
    "flux_controller_objects",
    "ghcr_pull_secret",
    "helm_release",
    "helm_repository",
    "node",
    "now_rfc3339",
    "revision",
]

Obj = dict[str, Any]

FLUX_CONTROLLERS = (
    "source-controller",
    "kustomize-controller",
    "helm-controller",
    "notification-controller",
)
HELM_REPOSITORY_CRD = (
    "source.toolkit.fluxcd.io",
    "v1",
    "HelmRepository",
    "helmrepositories",
    ("helmrepo",),
)
"""(group, version, kind, plural, short names): registered with the Flux install."""

_SOURCE_IGNORE = "/*\n!/clusters/_template\n!/platform\n!/products\n"


def now_rfc3339() -> str:
    """UTC now, seconds precision (what Kubernetes writes in conditions)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def revision(gitops_branch: str, fqdn: str) -> str:
    """A stable Flux artifact revision, `<branch>@sha1:<40 hex>`."""
    digest = hashlib.sha1(f"{gitops_branch}/{fqdn}".encode(), usedforsecurity=False).hexdigest()
    return f"{gitops_branch}@sha1:{digest}"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def condition(status: str, reason: str, message: str, type_: str = "Ready") -> Obj:
    """One `status.conditions[]` entry stamped now."""
    return {
        "type": type_,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": now_rfc3339(),
    }


def _meta(name: str, namespace: str | None = KIT_NAMESPACE, **labels: str) -> Obj:
    meta: Obj = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    if labels:
        meta["labels"] = dict(labels)
    return meta


def ghcr_pull_secret(token: str) -> Obj:
    """`flux-system/ghcr-pull`, exactly as cloud-init writes it (spec §6.4)."""
    auth = base64.b64encode(f"openova-bot:{token}".encode()).decode()
    config = {"auths": {"ghcr.io": {"username": "openova-bot", "password": token, "auth": auth}}}
    encoded = base64.b64encode(json.dumps(config, separators=(",", ":")).encode()).decode()
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _meta("ghcr-pull"),
        "type": "kubernetes.io/dockerconfigjson",
        "data": {".dockerconfigjson": encoded},
    }


def flux_bootstrap_objects(*, fqdn: str, gitops_repo_url: str, gitops_branch: str) -> list[Obj]:
    """The GitRepository and the two Kustomizations of cloud-init's `flux-bootstrap.yaml`."""
    source_ref = {"kind": "GitRepository", "name": "openova"}
    substitute = {"substitute": {"SOVEREIGN_FQDN": fqdn}}

    def kustomization(name: str, path: str, depends: list[str]) -> Obj:
        spec: Obj = {
            "interval": "5m",
            "path": path,
            "prune": True,
            "wait": True,
            "timeout": "30m",
            "sourceRef": source_ref,
            "postBuild": substitute,
        }
        if depends:
            spec["dependsOn"] = [{"name": d} for d in depends]
        return {
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            "kind": "Kustomization",
            "metadata": _meta(name),
            "spec": spec,
        }

    return [
        {
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "GitRepository",
            "metadata": _meta("openova"),
            "spec": {
                "interval": "1m",
                "url": gitops_repo_url,
                "ref": {"branch": gitops_branch},
                "ignore": _SOURCE_IGNORE,
            },
        },
        kustomization("bootstrap-kit", "./clusters/_template/bootstrap-kit", []),
        kustomization(
            "infrastructure-config", "./clusters/_template/infrastructure", ["bootstrap-kit"]
        ),
    ]


def controller_pod_name(fqdn: str, controller: str) -> str:
    """The (stable) pod name of a Flux controller, `<controller>-<hash>-<hash>`."""
    digest = hashlib.sha256(f"{fqdn}/{controller}".encode()).hexdigest()
    return f"{controller}-{digest[:10]}-{digest[10:15]}"


def flux_controller_objects(fqdn: str, node_name: str) -> list[Obj]:
    """Deployments and Running Pods of the Flux controllers (pods labelled `app=<name>`)."""
    objects: list[Obj] = []
    for name in FLUX_CONTROLLERS:
        labels = {"app": name, "app.kubernetes.io/part-of": "flux"}
        image = f"ghcr.io/fluxcd/{name}:v1.4.0"
        container = {"name": "manager", "image": image}
        objects.append(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": _meta(name, **labels),
                "spec": {
                    "replicas": 1,
                    "selector": {"matchLabels": {"app": name}},
                    "template": {
                        "metadata": {"labels": labels},
                        "spec": {"containers": [container]},
                    },
                },
                "status": {
                    "replicas": 1,
                    "readyReplicas": 1,
                    "availableReplicas": 1,
                    "conditions": [
                        condition("True", "MinimumReplicasAvailable", "ok", "Available")
                    ],
                },
            }
        )
        pod_name = controller_pod_name(fqdn, name)
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": _meta(pod_name, **labels),
                "spec": {"containers": [container], "nodeName": node_name},
                "status": {
                    "phase": "Running",
                    "conditions": [condition("True", "", "", "Ready")],
                    "containerStatuses": [
                        {
                            "name": "manager",
                            "ready": True,
                            "started": True,
                            "restartCount": 0,
                            "image": image,
                            "imageID": f"{image}@sha256:{_digest(image)}",
                            "state": {"running": {"startedAt": now_rfc3339()}},
                        }
                    ],
                },
            }
        )
    return objects


def node(name: str, *, role: str, internal_ip: str, k3s_version: str) -> Obj:
    """A Ready node as k3s registers it."""
    labels = {
        "kubernetes.io/hostname": name,
        "node.kubernetes.io/instance-type": "k3s",
    }
    if role == "control-plane":
        labels["node-role.kubernetes.io/control-plane"] = "true"
        labels["node-role.kubernetes.io/master"] = "true"
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": labels},
        "status": {
            "conditions": [condition("True", "KubeletReady", "kubelet is posting ready status")],
            "addresses": [
                {"type": "InternalIP", "address": internal_ip},
                {"type": "Hostname", "address": name},
            ],
            "nodeInfo": {
                "architecture": "amd64",
                "bootID": _digest(f"{name}/boot")[:32],
                "containerRuntimeVersion": "containerd://1.7.23-k3s2",
                "kernelVersion": "6.8.0-51-generic",
                "kubeProxyVersion": k3s_version,
                "kubeletVersion": k3s_version,
                "machineID": _digest(f"{name}/machine")[:32],
                "operatingSystem": "linux",
                "osImage": "Ubuntu 24.04.1 LTS",
                "systemUUID": _digest(f"{name}/uuid")[:32],
            },
        },
    }


INSTALL_RETRIES = 3
"""`spec.install.remediation.retries` of the kit's HelmReleases (the original's value)."""


def helm_release(component: Component) -> Obj:
    """The component's HelmRelease as the bootstrap-kit Kustomization applies it (no status)."""
    name = release_name(component.id)
    spec: Obj = {
        "interval": "10m",
        "releaseName": name,
        "targetNamespace": component.target_namespace,
        "chart": {
            "spec": {
                "chart": name,
                "version": CHART_VERSION,
                "sourceRef": {"kind": "HelmRepository", "name": "openova-charts"},
            }
        },
        "install": {"createNamespace": True, "remediation": {"retries": INSTALL_RETRIES}},
        "upgrade": {"remediation": {"retries": INSTALL_RETRIES}},
    }
    depends = dependencies(component.id)
    if depends:
        spec["dependsOn"] = [{"name": release_name(d)} for d in depends]
    return {
        "apiVersion": "helm.toolkit.fluxcd.io/v2",
        "kind": "HelmRelease",
        "metadata": _meta(
            name,
            **{
                "kustomize.toolkit.fluxcd.io/name": "bootstrap-kit",
                "kustomize.toolkit.fluxcd.io/namespace": KIT_NAMESPACE,
            },
        ),
        "spec": spec,
    }


def helm_repository() -> Obj:
    """The OCI chart repository the kit's charts come from (pulled with `ghcr-pull`)."""
    return {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "HelmRepository",
        "metadata": _meta("openova-charts"),
        "spec": {
            "type": "oci",
            "interval": "10m",
            "url": "oci://ghcr.io/openova-io/charts",
            "secretRef": {"name": "ghcr-pull"},
        },
    }
