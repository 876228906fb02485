"""A Sovereign for the infrastructure tests: a fake kube-apiserver (TLS, so kubectl sends its
token) serving the add-on and claim CRDs, a live catalyst-api whose scripted Phase 0 posts that
apiserver's kubeconfig back, and kubectl pointed at the same apiserver."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from catalyst_api.wiring import Overrides
from catalyst_sandbox.fakekube import FakeKubeServer, FakeKubeState, FakeKubeThread
from support.fakes import ScriptedProvisioner
from support.server import LiveServer
from support.waiting import wait_status

_LOCAL = Path(sys.executable).parent / "kubectl"
KUBECTL = str(_LOCAL) if _LOCAL.exists() else shutil.which("kubectl")
DAY2 = "catalyst-day2"


class Kubectl:
    """kubectl with a private HOME and cache, on the fake's kubeconfig."""

    def __init__(self, kube: FakeKubeThread, tmp: Path) -> None:
        self.tmp = tmp
        kubeconfig = kube.write_kubeconfig(tmp / "kubectl-kubeconfig")
        self.env = {**os.environ, "HOME": str(tmp), "KUBECONFIG": str(kubeconfig)}

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        assert KUBECTL is not None, "kubectl is not installed"
        return subprocess.run(
            [KUBECTL, "--cache-dir", str(self.tmp / "kcache"), *args],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=30,
            check=False,
        )

    def __call__(self, *args: str) -> str:
        done = self.run(*args)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self(*args, "-o", "json"))

    def conditions(self, resource: str, name: str, *conds: dict[str, Any]) -> None:
        """Play Crossplane: set the claim's status conditions."""
        patch = json.dumps({"status": {"conditions": list(conds)}})
        self(
            "patch", resource, name, "-n", DAY2, "--subresource=status", "--type=merge", "-p", patch
        )


def cond(
    type_: str, status: str, reason: str = "", message: str = "", gen: int = 1
) -> dict[str, Any]:
    return {
        "type": type_,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": "2026-12-04T10:00:00Z",
        "observedGeneration": gen,
    }


@dataclass
class Sovereign:
    kube: FakeKubeThread
    server: LiveServer
    client: httpx.Client
    kubectl: Kubectl
    provisioner: ScriptedProvisioner
    dep_id: str
    body: Callable[..., dict[str, Any]]

    @property
    def base(self) -> str:
        return f"/api/v1/deployments/{self.dep_id}/infrastructure"

    def create(self, postback: bool = True, **overrides: Any) -> str:
        """Another deployment (with or without the kubeconfig postback), ready."""
        self.provisioner.postback_base = self.server.url if postback else None
        created = self.client.post("/api/v1/deployments", json=self.body(**overrides))
        assert created.status_code == 201, created.text
        dep = str(created.json()["id"])
        wait_status(self.server.url, dep, {"ready", "phase1-watching"})
        return dep


@pytest.fixture
def kube() -> Iterator[FakeKubeThread]:
    with FakeKubeServer.start_in_thread(tls=True, state=FakeKubeState(addons=True)) as server:
        server.state.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": DAY2}})
        yield server


@pytest.fixture
def sovereign(
    kube: FakeKubeThread,
    tmp_path: Path,
    make_settings: Callable[..., Any],
    start_server: Callable[..., LiveServer],
    scripted_overrides: Callable[..., Overrides],
    body: Callable[..., dict[str, Any]],
) -> Iterator[Sovereign]:
    provisioner = ScriptedProvisioner(
        postback_base="auto", kubeconfig=kube.kubeconfig_yaml("sovereign").encode()
    )
    settings = make_settings(
        CATALYST_DAY2_CLAIM_POLL_INTERVAL="50ms",
        CATALYST_DAY2_CLAIM_TIMEOUT="20s",
        CATALYST_INFRA_LIVE_READ_TIMEOUT="2s",
    )
    server = start_server(settings, scripted_overrides(provisioner))
    with httpx.Client(base_url=server.url, timeout=20) as client:
        created = client.post(
            "/api/v1/deployments",
            json=body(workerCount=2, hetznerProjectID="991"),
        )
        assert created.status_code == 201, created.text
        dep = str(created.json()["id"])
        state = wait_status(server.url, dep, {"ready"})
        assert state["result"]["kubeconfigPath"]
        yield Sovereign(kube, server, client, Kubectl(kube, tmp_path), provisioner, dep, body)
