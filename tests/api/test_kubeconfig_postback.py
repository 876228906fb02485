"""Kubeconfig postback and download (spec §3.10–3.11, §5, §11 "Kubeconfig")."""

from __future__ import annotations

import json
import stat
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from support.fakes import ScriptedProvisioner
from support.stored import StoredRecords
from support.waiting import wait_status

# Behaviour suite: runs on the flat files and on PostgreSQL.
pytestmark = pytest.mark.both_backends

Body = Callable[..., dict[str, Any]]

KUBECONFIG = (
    b"apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    certificate-authority-data: "
    b"Q0FfQ0FOQVJZX01BUktFUg==\n    server: https://203.0.113.20:6443\n  name: sov\n"
    b"users:\n- name: admin\n  user:\n    token: TOKEN_CANARY_MARKER\n"
)


@pytest.fixture
def held(make_settings, start_server, scripted_overrides, body: Body):  # type: ignore[no-untyped-def]
    """A deployment whose Phase 0 is held (no automatic postback); yields (server, id, bearer)."""
    gate = threading.Event()
    server = start_server(make_settings(), scripted_overrides(ScriptedProvisioner(gate=gate)))
    dep = httpx.post(f"{server.url}/api/v1/deployments", json=body()).json()["id"]
    bearer = server.call(
        lambda: server.services.deployments.get(dep).bearer_token.get_secret_value()
    )
    yield server, dep, bearer, gate
    gate.set()


def _put(server, dep: str, content: bytes, auth: str | None) -> httpx.Response:  # type: ignore[no-untyped-def]
    headers = {"Content-Type": "application/x-yaml"}
    if auth is not None:
        headers["Authorization"] = auth
    return httpx.put(
        f"{server.url}/api/v1/deployments/{dep}/kubeconfig", content=content, headers=headers
    )


@pytest.mark.parametrize("auth", [None, "Basic dXNlcjpwYXNz", "Bearer", "abcdef"])
def test_missing_or_malformed_bearer_is_401(held, auth: str | None) -> None:  # type: ignore[no-untyped-def]
    server, dep, _, _ = held
    resp = _put(server, dep, KUBECONFIG, auth)
    assert resp.status_code == 401
    assert resp.json() == {
        "error": "missing-bearer",
        "detail": "Authorization: Bearer <token> header is required",
    }


def test_wrong_bearer_is_403_invalid_bearer(held) -> None:  # type: ignore[no-untyped-def]
    server, dep, _, _ = held
    resp = _put(server, dep, KUBECONFIG, "Bearer " + "0" * 64)
    assert resp.status_code == 403
    assert resp.json()["error"] == "invalid-bearer"


def test_unknown_id_is_404(held) -> None:  # type: ignore[no-untyped-def]
    server, _, bearer, _ = held
    resp = _put(server, "ffffffffffffffff", KUBECONFIG, f"Bearer {bearer}")
    assert resp.status_code == 404 and resp.text == "deployment not found\n"


def test_empty_body_is_422_and_writes_nothing(held, data_root: Path) -> None:  # type: ignore[no-untyped-def]
    server, dep, bearer, _ = held
    resp = _put(server, dep, b"", f"Bearer {bearer}")
    assert resp.status_code == 422
    assert resp.json() == {"error": "empty-body", "detail": "kubeconfig body is empty"}
    assert not (data_root / "kubeconfigs" / f"{dep}.yaml").exists()


def test_body_over_one_mebibyte_is_422(held) -> None:  # type: ignore[no-untyped-def]
    server, dep, bearer, _ = held
    resp = _put(server, dep, b"a" * (2 << 20), f"Bearer {bearer}")
    assert resp.status_code == 422
    assert resp.json() == {
        "error": "body-too-large",
        "detail": "kubeconfig body exceeds 1048576 bytes",
    }


def test_exactly_one_mebibyte_is_accepted(held) -> None:  # type: ignore[no-untyped-def]
    server, dep, bearer, _ = held
    assert _put(server, dep, b"a" * (1 << 20), f"Bearer {bearer}").status_code == 204


def test_first_valid_put_stores_the_file_then_the_bearer_is_spent(
    held, data_root: Path, stored: StoredRecords
) -> None:  # type: ignore[no-untyped-def]
    server, dep, bearer, _ = held
    resp = _put(server, dep, KUBECONFIG, f"bEaReR  {bearer}")
    assert resp.status_code == 204
    assert resp.content == b""
    path = data_root / "kubeconfigs" / f"{dep}.yaml"
    assert path.read_bytes() == KUBECONFIG
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    record_text = stored.text(dep)
    assert record_text is not None
    record = json.loads(record_text)
    assert record["result"]["kubeconfigPath"] == str(path.absolute())
    for marker in (
        "TOKEN_CANARY_MARKER",
        "certificate-authority-data",
        "Q0FfQ0FOQVJZ",
        "BEGIN CERTIFICATE",
    ):
        assert marker not in record_text
    state = httpx.get(f"{server.url}/api/v1/deployments/{dep}").json()
    assert state["result"]["kubeconfigPath"] == str(path.absolute())
    again = _put(server, dep, KUBECONFIG, f"Bearer {bearer}")
    assert again.status_code == 403
    assert again.json()["error"] == "already-set"


def test_get_kubeconfig_before_capture_is_409_not_implemented(held) -> None:  # type: ignore[no-untyped-def]
    server, dep, _, _ = held
    resp = httpx.get(f"{server.url}/api/v1/deployments/{dep}/kubeconfig")
    assert resp.status_code == 409
    assert resp.json()["error"] == "not-implemented"
    assert "cloud-init PUTs to this endpoint" in resp.json()["detail"]


def test_download_returns_the_exact_bytes_as_yaml_attachment(held) -> None:  # type: ignore[no-untyped-def]
    server, dep, bearer, _ = held
    assert _put(server, dep, KUBECONFIG, f"Bearer {bearer}").status_code == 204
    resp = httpx.get(f"{server.url}/api/v1/deployments/{dep}/kubeconfig")
    assert resp.status_code == 200
    assert resp.content == KUBECONFIG
    assert resp.headers["content-type"] == "application/yaml"
    assert (
        resp.headers["content-disposition"]
        == 'attachment; filename="k8s.acme.example-kubeconfig.yaml"'
    )


def test_download_with_the_file_gone_is_409_kubeconfig_file_missing(held, data_root: Path) -> None:  # type: ignore[no-untyped-def]
    server, dep, bearer, _ = held
    assert _put(server, dep, KUBECONFIG, f"Bearer {bearer}").status_code == 204
    (data_root / "kubeconfigs" / f"{dep}.yaml").unlink()
    resp = httpx.get(f"{server.url}/api/v1/deployments/{dep}/kubeconfig")
    assert resp.status_code == 409
    assert resp.json()["error"] == "kubeconfig-file-missing"
    assert "no such file or directory" in resp.json()["detail"]


def test_postback_during_phase0_lets_phase1_run_after_it(held) -> None:  # type: ignore[no-untyped-def]
    server, dep, bearer, gate = held
    assert _put(server, dep, KUBECONFIG, f"Bearer {bearer}").status_code == 204
    gate.set()
    state = wait_status(server.url, dep, {"ready"})
    assert state["componentStates"]["cilium"] == "installed"
    assert state["result"]["kubeconfigPath"]  # Phase 0 merged into the result (DESIGN item 3)
    phase1 = server.services.deployments.deps.phase1
    assert phase1.kubeconfigs == [KUBECONFIG]


def test_put_on_a_finished_deployment_launches_phase1(
    make_settings, start_server, scripted_overrides, body: Body
) -> None:  # type: ignore[no-untyped-def]
    server = start_server(
        make_settings(CATALYST_KUBECONFIG_WAIT_TIMEOUT="200ms"),
        scripted_overrides(ScriptedProvisioner()),
    )
    dep = httpx.post(f"{server.url}/api/v1/deployments", json=body()).json()["id"]
    failed = wait_status(server.url, dep, {"failed"})
    assert "did not PUT its kubeconfig back within 200ms" in failed["error"]
    bearer = server.call(
        lambda: server.services.deployments.get(dep).bearer_token.get_secret_value()
    )
    assert _put(server, dep, KUBECONFIG, f"Bearer {bearer}").status_code == 204
    state = wait_status(server.url, dep, {"ready"})
    assert state["componentStates"] == {
        "cert-manager": "installed",
        "cilium": "installed",
        "flux": "installed",
    }
    # A second launch after Phase 1 completed changes nothing.
    assert _put(server, dep, KUBECONFIG, f"Bearer {bearer}").status_code == 403
    assert len(server.services.deployments.deps.phase1.kubeconfigs) == 1


def test_a_late_postback_never_turns_a_phase0_failure_into_ready(
    make_settings, start_server, scripted_overrides, body: Body
) -> None:  # type: ignore[no-untyped-def]
    prov = ScriptedProvisioner(fail_with="tofu apply: exit status 1")
    server = start_server(make_settings(), scripted_overrides(prov))
    dep = httpx.post(f"{server.url}/api/v1/deployments", json=body()).json()["id"]
    wait_status(server.url, dep, {"failed"})
    bearer = server.call(
        lambda: server.services.deployments.get(dep).bearer_token.get_secret_value()
    )
    assert _put(server, dep, KUBECONFIG, f"Bearer {bearer}").status_code == 204
    state = httpx.get(f"{server.url}/api/v1/deployments/{dep}").json()
    assert state["status"] == "failed"
    assert state["error"] == "tofu apply: exit status 1"
    assert server.services.deployments.deps.phase1.kubeconfigs == []
