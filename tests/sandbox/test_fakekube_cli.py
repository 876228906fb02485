"""`python -m catalyst_sandbox.fakekube` (the `catalyst-api fake-kube` command) as a process."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import yaml


def _start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "catalyst_sandbox.fakekube", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serves_until_signalled_and_prints_kubeconfig_path(tmp_path: Path, sig: int) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("users:\n  alice:\n    - verbs: [get]\n      resources: [pods]\n")
    out = tmp_path / "kc.yaml"
    proc = _start(
        "--port",
        "0",
        "--kubeconfig-out",
        str(out),
        "--token",
        "s3cret",
        "--sar-policy",
        str(policy),
        "--no-tls",
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == str(out)
        assert out.stat().st_mode & 0o777 == 0o600
        config = yaml.safe_load(out.read_text())
        server = config["clusters"][0]["cluster"]["server"]
        headers = {"Authorization": f"Bearer {config['users'][0]['user']['token']}"}
        assert httpx.get(f"{server}/api/v1/namespaces", headers=headers).status_code == 200
        review = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SubjectAccessReview",
            "spec": {"user": "alice", "resourceAttributes": {"verb": "delete", "resource": "pods"}},
        }
        decided = httpx.post(
            f"{server}/apis/authorization.k8s.io/v1/subjectaccessreviews",
            json=review,
            headers=headers,
        ).json()
        assert decided["status"]["allowed"] is False
        proc.send_signal(sig)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=5)


def test_tls_is_the_default_and_the_ca_is_in_the_kubeconfig(tmp_path: Path) -> None:
    out = tmp_path / "kc.yaml"
    proc = _start("--kubeconfig-out", str(out))
    try:
        assert proc.stdout is not None
        proc.stdout.readline()
        cluster = yaml.safe_load(out.read_text())["clusters"][0]["cluster"]
        assert cluster["server"].startswith("https://127.0.0.1:")
        assert cluster["certificate-authority-data"]
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


def test_busy_port_exits_with_an_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = _start("--port", str(port), "--kubeconfig-out", str(tmp_path / "kc"))
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 1
    assert "fake-kube:" in err


def test_kubectl_works_against_the_cli_fake_with_its_default_settings(tmp_path: Path) -> None:
    out = tmp_path / "kc.yaml"
    proc = _start("--kubeconfig-out", str(out), "--token", "t0ken")
    try:
        assert proc.stdout is not None
        proc.stdout.readline()
        kubectl = Path(sys.executable).parent / "kubectl"
        listed = subprocess.run(
            [str(kubectl), "--kubeconfig", str(out), "get", "helmreleases", "-A"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert listed.returncode == 0, listed.stderr
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
