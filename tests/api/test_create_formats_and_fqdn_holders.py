"""Create refuses malformed FQDNs, SSH keys, e-mails and pool subdomains with a 400 before
anything is stored; a deployment holds its FQDN until destroyed, or failed with nothing in its
OpenTofu state (issue 10, DESIGN item 6)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from support.fakes import ScriptedPhase1, ScriptedProvisioner
from support.waiting import wait_status

Body = Callable[..., dict[str, Any]]


def _create(url: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{url}/api/v1/deployments", json=body)


@pytest.mark.parametrize(
    ("field", "value", "prefix"),
    [
        ("sovereignFQDN", "../../../../tmp/x", "sovereign FQDN must be a DNS hostname"),
        ("sovereignFQDN", "/tmp/x", "sovereign FQDN must be a DNS hostname"),
        ("sovereignFQDN", "acme.example\r\nX: 1", "sovereign FQDN must be a DNS hostname"),
        ("sovereignFQDN", 'acme".example', "sovereign FQDN must be a DNS hostname"),
        ("sovereignFQDN", "a" * 300 + ".example", "sovereign FQDN must be a DNS hostname"),
        ("sshPublicKey", "ssh-rsa not-a-key", "SSH public key"),
        ("orgEmail", "not-an-email", "organisation email must be an e-mail address"),
    ],
    ids=["traversal", "absolute", "crlf", "quote", "300-char-label", "ssh-garbage", "email"],
)
def test_malformed_fields_are_400_in_the_validation_style_and_nothing_is_stored(
    make_settings,
    start_server,
    scripted_overrides,
    body: Body,
    data_root: Path,
    field: str,
    value: str,
    prefix: str,
) -> None:  # type: ignore[no-untyped-def]
    prov = ScriptedProvisioner()
    server = start_server(make_settings(), scripted_overrides(prov))
    resp = _create(server.url, body(**{field: value}))
    assert resp.status_code == 400
    assert resp.headers["content-type"] == "application/json"
    answer = resp.json()
    assert list(answer) == ["error"] and answer["error"].startswith(prefix)
    assert len(server.services.deployments.registry) == 0
    assert list((data_root / "deployments").glob("*.json")) == []
    assert prov.jobs == [] and not (data_root / "tmp").exists()


def test_the_fqdn_is_stored_and_provisioned_normalised(
    make_settings, start_server, scripted_overrides, body: Body, data_root: Path
) -> None:  # type: ignore[no-untyped-def]
    prov = ScriptedProvisioner(postback_base="auto")
    server = start_server(make_settings(), scripted_overrides(prov))
    created = _create(server.url, body(sovereignFQDN="  K8S.Acme.Example. "))
    assert created.status_code == 201
    dep = created.json()["id"]
    state = wait_status(server.url, dep, {"ready"})
    assert state["sovereignFQDN"] == "k8s.acme.example"
    record = json.loads((data_root / "deployments" / f"{dep}.json").read_text())
    assert record["request"]["sovereignFQDN"] == "k8s.acme.example"
    assert [job.sovereign_fqdn for job in prov.jobs] == ["k8s.acme.example"]


@pytest.mark.parametrize("sub", ["bad_sub", "-acme", "acme-", "a" * 64, "a.b"])
def test_pool_subdomain_must_be_one_dns_label(
    make_settings, start_server, scripted_overrides, body: Body, sub: str
) -> None:  # type: ignore[no-untyped-def]
    server = start_server(make_settings(CATALYST_GHCR_PULL_TOKEN="ghcr-x"), scripted_overrides())
    resp = _create(
        server.url,
        body(sovereignDomainMode="pool", sovereignPoolDomain="omani.works", sovereignSubdomain=sub),
    )
    assert resp.status_code == 400
    assert resp.json()["error"] == "invalid-subdomain"
    assert "one DNS label" in resp.json()["detail"]


def test_a_ready_deployment_holds_its_fqdn_until_destroyed(
    make_settings, start_server, scripted_overrides, body: Body
) -> None:  # type: ignore[no-untyped-def]
    server = start_server(make_settings(), scripted_overrides())
    first = _create(server.url, body()).json()["id"]
    wait_status(server.url, first, {"ready"})
    for spelling in ("k8s.acme.example", "K8S.acme.EXAMPLE", "k8s.acme.example."):
        resp = _create(server.url, body(sovereignFQDN=spelling))
        assert resp.status_code == 409, spelling
        answer = resp.json()
        assert answer["error"] == "fqdn-in-use" and answer["holder"] == first
        assert f"deployment {first} holds k8s.acme.example" in answer["detail"]
        assert f"DELETE /api/v1/deployments/{first}" in answer["detail"]
    assert httpx.delete(f"{server.url}/api/v1/deployments/{first}").status_code == 202
    wait_status(server.url, first, {"destroyed"})
    assert _create(server.url, body()).status_code == 201


def test_a_failed_deployment_holds_its_fqdn_while_its_state_has_resources(
    make_settings, start_server, scripted_overrides, body: Body
) -> None:  # type: ignore[no-untyped-def]
    # Phase 0 created something, then failed: the state holds resources.
    prov = ScriptedProvisioner(fail_with="boom", state_fqdns={"k8s.acme.example"})
    server = start_server(make_settings(), scripted_overrides(prov))
    failed = _create(server.url, body()).json()["id"]
    wait_status(server.url, failed, {"failed"})
    resp = _create(server.url, body())
    assert resp.status_code == 409
    assert resp.json()["holder"] == failed
    assert "still has cloud resources in its OpenTofu state" in resp.json()["detail"]
    prov.state_fqdns.clear()  # nothing left in its state: the FQDN is free again
    assert _create(server.url, body()).status_code == 201


def test_a_failed_phase1_deployment_holds_its_fqdn(
    make_settings, start_server, scripted_overrides, body: Body
) -> None:  # type: ignore[no-untyped-def]
    server = start_server(
        make_settings(),
        scripted_overrides(
            ScriptedProvisioner(postback_base="auto"), ScriptedPhase1(fail=("flux",))
        ),
    )
    failed = _create(server.url, body()).json()["id"]
    wait_status(server.url, failed, {"failed"})
    resp = _create(server.url, body())
    assert resp.status_code == 409 and resp.json()["holder"] == failed


def test_a_record_of_an_earlier_version_with_an_upper_case_fqdn_holds_it(
    make_settings, start_server, scripted_overrides, body: Body, data_root: Path
) -> None:  # type: ignore[no-untyped-def]
    deployments = data_root / "deployments"
    deployments.mkdir()
    stamp = datetime(2026, 1, 1, tzinfo=UTC).isoformat().replace("+00:00", "Z")
    record = {
        "id": "0123456789abcdef",
        "status": "ready",
        "request": {"sovereignFQDN": "K8S.Acme.Example."},
        "startedAt": stamp,
        "finishedAt": stamp,
    }
    (deployments / "0123456789abcdef.json").write_text(json.dumps(record))
    server = start_server(make_settings(), scripted_overrides())
    resp = _create(server.url, body())
    assert resp.status_code == 409
    assert resp.json()["holder"] == "0123456789abcdef"


def test_retry_of_a_failed_deployment_whose_fqdn_was_taken_is_409(
    make_settings, start_server, scripted_overrides, body: Body
) -> None:  # type: ignore[no-untyped-def]
    prov = ScriptedProvisioner(fail_with="boom", postback_base="auto")
    server = start_server(make_settings(), scripted_overrides(prov))
    old = _create(server.url, body()).json()["id"]
    wait_status(server.url, old, {"failed"})  # nothing in its state: the FQDN is released
    prov.fail_with = None
    prov.gate = threading.Event()
    try:
        new = _create(server.url, body())
        assert new.status_code == 201
        retry = httpx.post(f"{server.url}/api/v1/deployments/{old}/phases/tofu-apply/retry")
        assert retry.status_code == 409
        assert retry.json()["error"] == "fqdn-in-use"
        assert retry.json()["holder"] == new.json()["id"]
    finally:
        prov.gate.set()
    wait_status(server.url, new.json()["id"], {"ready"})
