"""The audit trail (both modes) and secrets that never leak: tokens, JWTs, bearers, kubeconfigs."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import httpx

from support.fakes import ScriptedProvisioner
from support.logs import audit_records
from support.waiting import wait_for, wait_status

KUBECONFIG = (
    b"apiVersion: v1\nkind: Config\nusers:\n- name: a\n  user:\n    token: KUBE_CANARY_77\n"
)


def _counter(url: str, action: str, outcome: str) -> float:
    text = httpx.get(f"{url}/metrics").text
    pattern = rf'catalyst_audit_events_total{{action="{action}",outcome="{outcome}"}} (\S+)'
    match = re.search(pattern, text)
    return float(match.group(1)) if match else 0.0


def test_open_mode_audits_each_action_with_the_client_address(  # type: ignore[no-untyped-def]
    make_settings, start_server, scripted_overrides, body, log_text
) -> None:
    gate = threading.Event()
    server = start_server(make_settings(), scripted_overrides(ScriptedProvisioner(gate=gate)))
    url = server.url
    dep = httpx.post(f"{url}/api/v1/deployments", json=body()).json()["id"]
    bearer = server.call(
        lambda: server.services.deployments.get(dep).bearer_token.get_secret_value()
    )
    wrong = httpx.put(
        f"{url}/api/v1/deployments/{dep}/kubeconfig",
        content=KUBECONFIG,
        headers={"Authorization": "Bearer BEARER_CANARY_WRONG"},
    )
    assert wrong.status_code == 403
    put = httpx.put(
        f"{url}/api/v1/deployments/{dep}/kubeconfig",
        content=KUBECONFIG,
        headers={"Authorization": f"Bearer {bearer}"},
    )
    assert put.status_code == 204
    gate.set()
    wait_status(url, dep, {"ready", "failed"})
    assert httpx.get(f"{url}/api/v1/deployments/{dep}/kubeconfig").status_code == 200
    assert httpx.post(f"{url}/api/v1/deployments/{dep}/phases/nope/retry").status_code == 400
    assert httpx.request("DELETE", f"{url}/api/v1/deployments/{dep}").status_code == 202

    records = audit_records(log_text())
    seen = [(r["action"], r["outcome"], r["who"], r["deployment_id"]) for r in records]
    assert seen == [
        ("create", "allowed", "127.0.0.1", dep),
        ("kubeconfig-put", "denied", "127.0.0.1", dep),
        ("kubeconfig-put", "allowed", "127.0.0.1", dep),
        ("kubeconfig-get", "allowed", "127.0.0.1", dep),
        ("retry", "failed", "127.0.0.1", dep),
        ("destroy", "allowed", "127.0.0.1", dep),
    ]
    assert all(r["via"] == "address" and r["request_id"] for r in records)
    assert _counter(url, "kubeconfig-put", "denied") == 1
    assert _counter(url, "create", "allowed") == 1
    text = log_text()
    assert bearer not in text and "BEARER_CANARY_WRONG" not in text
    assert "KUBE_CANARY_77" not in text


def test_required_mode_audits_principals_and_denials_and_leaks_no_credential(  # type: ignore[no-untyped-def]
    realm, body, log_text, data_root: Path
) -> None:
    url = realm.url
    canary_jwt = realm.issuer.sign(preferred_username="jay", groups=["catalyst-operator"])
    expired_jwt = realm.issuer.sign(preferred_username="jay", groups=["catalyst-admin"], exp=1)
    op = realm.headers("operator")
    dep = realm.create("operator", body())
    jwt_dep = httpx.post(
        f"{url}/api/v1/deployments",
        json=body(sovereignFQDN="jay.acme.example"),
        headers={"Authorization": f"Bearer {canary_jwt}"},
    )
    assert jwt_dep.status_code == 201
    responses = [
        httpx.get(f"{url}/api/v1/deployments/{dep}/kubeconfig", headers=op),  # 403
        httpx.get(
            f"{url}/api/v1/deployments", headers={"Authorization": "Bearer cat_WRONG_CANARY"}
        ),
        httpx.get(f"{url}/api/v1/deployments", headers={"Authorization": f"Bearer {expired_jwt}"}),
        httpx.get(f"{url}/api/v1/deployments/{dep}", headers=realm.headers("operator2")),  # 404
        httpx.get(f"{url}/api/v1/deployments/{dep}/events?access_token={canary_jwt}"),  # 401
    ]
    with httpx.stream(
        "GET", f"{url}/api/v1/deployments/{dep}/logs?access_token={canary_jwt}", timeout=10
    ) as sse:
        assert sse.status_code == 404  # jay's token, otto's deployment: hidden
    assert [r.status_code for r in responses] == [403, 401, 401, 404, 401]
    wait_for(  # the run (and its kubeconfig postback) has finished
        lambda: (
            httpx.get(f"{url}/api/v1/deployments/{dep}", headers=op).json()["status"]
            in {"ready", "failed"}
        ),
        timeout=15,
    )

    records = audit_records(log_text())
    by_action = {(r["action"], r["who"], r["outcome"]) for r in records}
    assert ("create", "otto", "allowed") in by_action
    assert ("create", "jay", "allowed") in by_action
    assert ("kubeconfig-get", "otto", "denied") in by_action  # 403: operators get no kubeconfig
    assert ("access", "olga", "denied") in by_action  # the hidden deployment
    assert ("access", "127.0.0.1", "denied") in by_action  # 401s: no principal
    assert ("access", "jay", "denied") in by_action  # the SSE of someone else's deployment
    assert ("kubeconfig-put", "127.0.0.1", "allowed") in by_action  # cloud-init's postback
    creates = [r for r in records if r["action"] == "create" and r["who"] == "otto"]
    assert creates[0]["deployment_id"] == dep and creates[0]["via"] == "token"

    secrets = [*realm.tokens.values(), canary_jwt, expired_jwt, "cat_WRONG_CANARY"]
    text = log_text()
    on_disk = b"".join(p.read_bytes() for p in data_root.rglob("*") if p.is_file())
    bodies = "".join(r.text for r in responses)
    for secret in secrets:
        assert secret not in text
        assert secret.encode() not in on_disk  # the tokens file holds hashes only
        assert secret not in bodies
