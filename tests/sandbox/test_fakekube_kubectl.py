"""The real kubectl against the fake (https: client-go sends bearer tokens only over TLS)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from catalyst_sandbox.fakekube import FakeKubeServer, FakeKubeThread

_KUBECTL = Path(sys.executable).parent / "kubectl"
KUBECTL = str(_KUBECTL) if _KUBECTL.exists() else shutil.which("kubectl")
pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")

HR_YAML = """\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: bp-cilium
  namespace: flux-system
spec:
  interval: {interval}
  chart:
    spec:
      chart: cilium
"""


class Kubectl:
    """Runs kubectl with a private HOME, cache dir and the fake's kubeconfig."""

    def __init__(self, kube: FakeKubeThread, tmp: Path) -> None:
        self.kube = kube
        self.tmp = tmp
        self.kubeconfig = kube.write_kubeconfig(tmp / "kubeconfig")
        self.env = {**os.environ, "HOME": str(tmp), "KUBECONFIG": str(self.kubeconfig)}

    def argv(self, *args: str) -> list[str]:
        assert KUBECTL is not None
        return [KUBECTL, "--cache-dir", str(self.tmp / "cache"), *args]

    def __call__(self, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run(
            self.argv(*args),
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env,
            timeout=30,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self(*args, "-o", "json"))

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.argv(*args),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env,
        )


@pytest.fixture
def kubectl(tmp_path: Path) -> Iterator[Kubectl]:
    with FakeKubeServer.start_in_thread(tls=True) as kube:
        yield Kubectl(kube, tmp_path)


def _read_until(stream: IO[str], needle: str, timeout: float = 10.0) -> list[str]:
    """Lines read (in a helper thread) until one contains `needle`."""
    lines: list[str] = []
    found = threading.Event()

    def pump() -> None:
        for line in stream:
            lines.append(line)
            if needle in line:
                found.set()
                return

    threading.Thread(target=pump, daemon=True).start()
    assert found.wait(timeout), f"{needle!r} not in {lines}"
    return lines


def test_get_lists_namespaces_and_flux_crds(kubectl: Kubectl) -> None:
    assert "flux-system" in kubectl("get", "namespaces")
    crds = kubectl("get", "crd", "-o", "name")
    assert (
        "customresourcedefinition.apiextensions.k8s.io/helmreleases.helm.toolkit.fluxcd.io" in crds
    )
    assert kubectl.json("get", "hr", "-A")["items"] == []


def test_apply_creates_then_updates(kubectl: Kubectl) -> None:
    out = kubectl("apply", "-f", "-", stdin=HR_YAML.format(interval="1m"))
    assert "helmrelease.helm.toolkit.fluxcd.io/bp-cilium created" in out
    out = kubectl("apply", "-f", "-", stdin=HR_YAML.format(interval="5m"))
    assert "configured" in out
    hr = kubectl.json("get", "helmrelease", "bp-cilium", "-n", "flux-system")
    assert hr["spec"]["interval"] == "5m"
    assert hr["metadata"]["generation"] == 2
    deploy = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:%s
        env: [{name: A, value: "1"}]
"""
    kubectl("apply", "-f", "-", stdin=deploy % "1")
    kubectl("apply", "-f", "-", stdin=deploy % "2")
    got = kubectl.json("get", "deploy", "web")
    assert got["spec"]["template"]["spec"]["containers"] == [
        {"name": "web", "image": "nginx:2", "env": [{"name": "A", "value": "1"}]}
    ]


def test_server_side_apply(kubectl: Kubectl) -> None:
    out = kubectl("apply", "--server-side", "-f", "-", stdin=HR_YAML.format(interval="1m"))
    assert "serverside-applied" in out
    kubectl("apply", "--server-side", "-f", "-", stdin=HR_YAML.format(interval="2m"))
    hr = kubectl.json("get", "hr", "bp-cilium", "-n", "flux-system")
    assert hr["spec"]["interval"] == "2m"


def test_patch_status_subresource_and_delete(kubectl: Kubectl) -> None:
    kubectl("apply", "-f", "-", stdin=HR_YAML.format(interval="1m"))
    status = {
        "status": {
            "conditions": [
                {"type": "Ready", "status": "True", "reason": "InstallSucceeded", "message": "done"}
            ]
        }
    }
    kubectl(
        "patch",
        "hr",
        "bp-cilium",
        "-n",
        "flux-system",
        "--subresource=status",
        "--type=merge",
        "-p",
        json.dumps(status),
    )
    hr = kubectl.kube.state.get(
        "helm.toolkit.fluxcd.io/v2", "HelmRelease", "flux-system", "bp-cilium"
    )
    assert hr is not None
    assert hr["status"] == status["status"]
    assert hr["metadata"]["generation"] == 1
    assert "deleted" in kubectl("delete", "hr", "bp-cilium", "-n", "flux-system")
    assert kubectl("get", "hr", "-n", "flux-system", "-o", "name") == ""


def test_get_watch_sees_a_change(kubectl: Kubectl) -> None:
    state = kubectl.kube.state
    hr_api = "helm.toolkit.fluxcd.io/v2"
    state.create(
        {
            "apiVersion": hr_api,
            "kind": "HelmRelease",
            "metadata": {"name": "bp-cilium", "namespace": "flux-system"},
        }
    )
    proc = kubectl.popen("get", "hr", "-n", "flux-system", "-w")
    try:
        assert proc.stdout is not None
        header = _read_until(proc.stdout, "bp-cilium")
        assert header[0].split() == ["NAME", "AGE", "READY", "STATUS"]
        state.set_status(
            hr_api,
            "HelmRelease",
            "flux-system",
            "bp-cilium",
            {
                "conditions": [
                    {"type": "Ready", "status": "True", "message": "Helm install succeeded"}
                ]
            },
        )
        row = _read_until(proc.stdout, "Helm install succeeded")[-1].split()
        assert row[0] == "bp-cilium" and row[2] == "True"
    finally:
        proc.terminate()
        proc.communicate(timeout=5)


def test_logs_follow_streams_appended_lines(kubectl: Kubectl) -> None:
    state = kubectl.kube.state
    state.create(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": "helm-controller-0",
                "namespace": "flux-system",
                "labels": {"app": "helm-controller"},
            },
            "spec": {"containers": [{"name": "manager", "image": "x"}]},
            "status": {"phase": "Running"},
        }
    )
    state.append_pod_log("flux-system", "helm-controller-0", "old line")
    assert kubectl("logs", "-n", "flux-system", "helm-controller-0") == "old line\n"
    proc = kubectl.popen("logs", "-f", "-n", "flux-system", "helm-controller-0")
    try:
        assert proc.stdout is not None
        _read_until(proc.stdout, "old line")
        # The old line arrives only once the follow is registered (one atomic open).
        assert state.logs.follower_count("flux-system", "helm-controller-0") == 1
        state.append_pod_log("flux-system", "helm-controller-0", "new line")
        _read_until(proc.stdout, "new line")
        state.delete("v1", "Pod", "flux-system", "helm-controller-0")
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=5)


def test_crd_applied_with_kubectl_becomes_a_servable_kind(kubectl: Kubectl) -> None:
    crd = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: sovereigns.catalyst.openova.io}
spec:
  group: catalyst.openova.io
  scope: Cluster
  names: {kind: Sovereign, plural: sovereigns, singular: sovereign, shortNames: [sov]}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
"""
    kubectl("apply", "-f", "-", stdin=crd)
    kubectl(
        "apply",
        "-f",
        "-",
        stdin="apiVersion: catalyst.openova.io/v1\nkind: Sovereign\nmetadata: {name: s1}\n",
    )
    assert kubectl("get", "sov", "-o", "name") == "sovereign.catalyst.openova.io/s1\n"


def test_create_generators_send_protobuf_that_the_fake_decodes(kubectl: Kubectl) -> None:
    kubectl("create", "namespace", "team-a")
    kubectl("create", "configmap", "cfg", "-n", "team-a", "--from-literal=mode=fast")
    kubectl("create", "secret", "generic", "creds", "-n", "team-a", "--from-literal=pw=hunter2")
    kubectl("create", "serviceaccount", "bot", "-n", "team-a")
    state = kubectl.kube.state
    cfg = state.get("v1", "ConfigMap", "team-a", "cfg")
    assert cfg is not None
    assert cfg["data"] == {"mode": "fast"}
    creds = state.get("v1", "Secret", "team-a", "creds")
    assert creds is not None
    assert creds["data"] == {"pw": "aHVudGVyMg=="}
    assert creds["type"] == "Opaque"
    assert state.get("v1", "ServiceAccount", "team-a", "bot") is not None


WORKLOADS = {
    "deployment": """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx}]}
""",
    "statefulset": """\
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  replicas: 1
  serviceName: web
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx}]}
""",
    "replicaset": """\
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx}]}
""",
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", sorted(WORKLOADS))
def test_scale_goes_through_the_scale_subresource(kubectl: Kubectl, kind: str) -> None:
    """`kubectl scale` PATCHes `.../scale` (autoscaling/v1 Scale); it used to exit 1 on a 404."""
    kubectl("apply", "--server-side", "-f", "-", stdin=WORKLOADS[kind])
    assert "scaled" in kubectl("scale", kind, "web", "--replicas=3")
    got = kubectl.json("get", kind, "web")
    assert got["spec"]["replicas"] == 3
    assert got["metadata"]["generation"] == 2
    plural = f"{kind}s"
    scale = json.loads(
        kubectl("get", "--raw", f"/apis/apps/v1/namespaces/default/{plural}/web/scale")
    )
    assert scale["kind"] == "Scale"
    assert scale["apiVersion"] == "autoscaling/v1"
    assert scale["spec"] == {"replicas": 3}
    assert scale["status"]["selector"] == "app=web"
    assert scale["metadata"]["resourceVersion"] == got["metadata"]["resourceVersion"]
    # --current-replicas is a precondition checked against the Scale
    assert "scaled" in kubectl("scale", kind, "web", "--current-replicas=3", "--replicas=0")
    assert kubectl.json("get", kind, "web")["spec"]["replicas"] == 0
    done = subprocess.run(
        kubectl.argv("scale", kind, "web", "--current-replicas=5", "--replicas=1"),
        capture_output=True,
        text=True,
        env=kubectl.env,
        timeout=30,
        check=False,
    )
    assert done.returncode != 0
    assert "Expected replicas to be 5, was 0" in done.stderr, done.stderr


def test_describe_namespace_lists_quotas_and_limit_ranges(kubectl: Kubectl) -> None:
    """`kubectl describe ns` lists resourcequotas and limitranges in the namespace (404 before)."""
    kubectl(
        "apply",
        "-f",
        "-",
        stdin="""\
apiVersion: v1
kind: ResourceQuota
metadata: {name: q, namespace: default}
spec: {hard: {pods: "10"}}
---
apiVersion: v1
kind: LimitRange
metadata: {name: lr, namespace: default}
spec:
  limits: [{type: Container, default: {cpu: 500m}}]
""",
    )
    done = subprocess.run(
        kubectl.argv("describe", "ns", "default", "-v=6"),
        capture_output=True,
        text=True,
        env=kubectl.env,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert " 404 " not in done.stderr, done.stderr
    assert "Error from server" not in done.stderr
    assert "Name:         default" in done.stdout
    assert "Resource Quotas" in done.stdout
    assert re.search(r"Name:\s+q\n", done.stdout), done.stdout
    assert "Resource Limits" in done.stdout and "500m" in done.stdout


def test_generation_only_on_kinds_that_have_one(kubectl: Kubectl) -> None:
    """ConfigMaps, Secrets and Namespaces carry no metadata.generation (as on a real
    apiserver); Deployments and custom resources do, bumped on spec changes."""
    kubectl("create", "namespace", "team")
    kubectl("create", "configmap", "c", "--from-literal=a=1", "-n", "team")
    kubectl("create", "secret", "generic", "s", "--from-literal=a=1", "-n", "team")
    kubectl("patch", "configmap", "c", "-n", "team", "--type=merge", "-p", '{"data":{"a":"2"}}')
    for args in (("ns", "team"), ("cm", "c", "-n", "team"), ("secret", "s", "-n", "team")):
        assert "generation" not in kubectl.json("get", *args)["metadata"], args
    kubectl("apply", "-f", "-", stdin=WORKLOADS["deployment"])
    assert kubectl.json("get", "deploy", "web")["metadata"]["generation"] == 1
    kubectl("apply", "-f", "-", stdin=HR_YAML.format(interval="1m"))
    assert (
        kubectl.json("get", "hr", "bp-cilium", "-n", "flux-system")["metadata"]["generation"] == 1
    )


@pytest.mark.timeout(60)
def test_server_side_apply_patch_watch_delete_a_deployment(kubectl: Kubectl) -> None:
    """The issue-12 round trip on a built-in kind: apply --server-side, get -w, patch, delete."""
    assert "serverside-applied" in kubectl(
        "apply", "--server-side", "-f", "-", stdin=WORKLOADS["deployment"]
    )
    proc = kubectl.popen("get", "deploy", "-w", "-o", "name")
    try:
        assert proc.stdout is not None
        _read_until(proc.stdout, "deployment.apps/web")
        kubectl("patch", "deploy", "web", "--type=merge", "-p", '{"spec":{"replicas":2}}')
        assert kubectl.json("get", "deploy", "web")["spec"]["replicas"] == 2
        assert "deleted" in kubectl("delete", "deploy", "web")
        assert kubectl("get", "deploy", "-o", "name") == ""
    finally:
        proc.terminate()
        proc.communicate(timeout=5)
    assert "default" in kubectl("describe", "ns", "default")
