"""Creating and reading deployments over HTTP (spec §3.6–3.9, DESIGN list/fqdn rules)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from support.fakes import ScriptedProvisioner
from support.stored import StoredRecords
from support.waiting import wait_status

# Behaviour suite: runs on the flat files and on PostgreSQL.
pytestmark = pytest.mark.both_backends

Body = Callable[..., dict[str, Any]]


@pytest.fixture
def server(make_settings, start_server, scripted_overrides):  # type: ignore[no-untyped-def]
    return start_server(make_settings(), scripted_overrides())


def test_create_answers_201_with_id_status_and_stream_url(server, body: Body) -> None:  # type: ignore[no-untyped-def]
    resp = httpx.post(f"{server.url}/api/v1/deployments", json=body())
    assert resp.status_code == 201
    assert resp.headers["content-type"] == "application/json"
    assert resp.text.endswith("}\n")
    created = resp.json()
    assert list(created) == ["id", "status", "streamURL"]
    assert len(created["id"]) == 16 and int(created["id"], 16) >= 0
    assert created["status"] == "provisioning"
    assert created["streamURL"] == f"/api/v1/deployments/{created['id']}/logs"


def test_create_persists_the_record_before_answering_without_the_token(
    server, body: Body, stored: StoredRecords
) -> None:  # type: ignore[no-untyped-def]
    gate = threading.Event()
    server.services.deployments.deps.provisioner.gate = gate  # hold Phase 0
    try:
        created = httpx.post(f"{server.url}/api/v1/deployments", json=body()).json()
        text = stored.text(created["id"])
        assert text is not None
        assert "h" * 64 not in text
        assert json.loads(text)["request"]["hetznerToken"] == "<redacted>"
    finally:
        gate.set()


def test_get_returns_the_state_object(server, body: Body) -> None:  # type: ignore[no-untyped-def]
    created = httpx.post(f"{server.url}/api/v1/deployments", json=body()).json()
    state = wait_status(server.url, created["id"], {"ready"})
    assert state["id"] == created["id"]
    assert state["sovereignFQDN"] == "k8s.acme.example"
    assert state["region"] == "fsn1"
    assert state["numEvents"] > 0
    assert state["finishedAt"].endswith("Z") and state["startedAt"].endswith("Z")
    assert state["result"]["loadBalancerIP"] == "203.0.113.20"
    assert state["componentStates"] == {
        "cert-manager": "installed",
        "cilium": "installed",
        "flux": "installed",
    }
    assert state["phase1FinishedAt"].endswith("Z")
    assert "error" not in state


def test_unknown_id_is_the_originals_text_404(server) -> None:  # type: ignore[no-untyped-def]
    for path in ("", "/events", "/logs", "/kubeconfig"):
        resp = httpx.get(f"{server.url}/api/v1/deployments/ffffffffffffffff{path}")
        assert resp.status_code == 404
        assert resp.text == "deployment not found\n"
        assert resp.headers["content-type"].startswith("text/plain")
        assert resp.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("bad", ["..%2F..%2Fetc%2Fpasswd", "a%5Cb", "..", "%2e%2e", "a%00b"])
def test_traversal_ids_are_refused_with_4xx(server, bad: str) -> None:  # type: ignore[no-untyped-def]
    resp = httpx.get(f"{server.url}/api/v1/deployments/{bad}")
    assert 400 <= resp.status_code < 500


def test_unknown_route_and_wrong_method(server) -> None:  # type: ignore[no-untyped-def]
    resp = httpx.get(f"{server.url}/api/v1/nothing")
    assert resp.status_code == 404 and resp.text == "404 page not found\n"
    assert httpx.put(f"{server.url}/api/v1/deployments").status_code == 405


@pytest.mark.timeout(60)  # ten full runs at once
def test_ten_concurrent_creates_are_isolated(server, body: Body) -> None:  # type: ignore[no-untyped-def]
    def create(i: int) -> httpx.Response:
        return httpx.post(
            f"{server.url}/api/v1/deployments",
            json=body(sovereignFQDN=f"s{i}.acme.example", sovereignSubdomain=f"s{i}"),
        )

    with ThreadPoolExecutor(10) as pool:
        responses = list(pool.map(create, range(10)))
    assert [r.status_code for r in responses] == [201] * 10
    ids = [r.json()["id"] for r in responses]
    assert len(set(ids)) == 10
    for i, dep_id in enumerate(ids):
        state = httpx.get(f"{server.url}/api/v1/deployments/{dep_id}").json()
        assert state["id"] == dep_id
        assert state["sovereignFQDN"] == f"s{i}.acme.example"
    assert len(server.services.deployments.registry) == 10


def test_ten_concurrent_empty_creates_all_fail_and_store_nothing(
    server, stored: StoredRecords
) -> None:  # type: ignore[no-untyped-def]
    with ThreadPoolExecutor(10) as pool:
        responses = list(
            pool.map(lambda _: httpx.post(f"{server.url}/api/v1/deployments", json={}), range(10))
        )
    assert [r.status_code for r in responses] == [400] * 10
    assert responses[0].json() == {"error": "hetzner token is required"}
    assert len(server.services.deployments.registry) == 0
    assert stored.ids() == []


@pytest.mark.parametrize(
    ("content", "start"),
    [
        (b"", "invalid request body: EOF"),
        (b"{not json", "invalid request body: "),
        (b'{"workerCount": "2"}', "invalid request body: json: cannot unmarshal string"),
        (b'{"haEnabled": "yes"}', "invalid request body: json: cannot unmarshal string"),
        (b"[1,2,3]", "invalid request body: json: cannot unmarshal array"),
    ],
    ids=["empty", "garbage", "string-int", "yes-bool", "array"],
)
def test_undecodable_bodies_are_text_400(server, content: bytes, start: str) -> None:  # type: ignore[no-untyped-def]
    resp = httpx.post(f"{server.url}/api/v1/deployments", content=content)
    assert resp.status_code == 400
    assert resp.headers["content-type"].startswith("text/plain")
    assert resp.text.startswith(start)


def test_oversized_create_body_is_413(server) -> None:  # type: ignore[no-untyped-def]
    resp = httpx.post(
        f"{server.url}/api/v1/deployments", content=b'{"orgName":"' + b"a" * (2 << 20) + b'"}'
    )
    assert resp.status_code == 413
    assert resp.json()["error"] == "payload-too-large"


def test_validation_error_body_is_the_message(server, body: Body) -> None:  # type: ignore[no-untyped-def]
    resp = httpx.post(f"{server.url}/api/v1/deployments", json=body(orgEmail=""))
    assert resp.status_code == 400
    assert resp.json() == {
        "error": "organisation email is required (becomes initial sovereign-admin)"
    }


def test_pool_mode_without_ghcr_token_is_400_naming_the_variable(server, body: Body) -> None:  # type: ignore[no-untyped-def]
    resp = httpx.post(
        f"{server.url}/api/v1/deployments",
        json=body(
            sovereignDomainMode="pool", sovereignPoolDomain="omani.works", sovereignSubdomain="x"
        ),
    )
    assert resp.status_code == 400
    assert "CATALYST_GHCR_PULL_TOKEN" in resp.json()["error"]
    assert "docs/SECRET-ROTATION.md" in resp.json()["error"]


def test_pool_domain_outside_the_allowlist_is_refused(
    make_settings, start_server, scripted_overrides, body: Body
) -> None:  # type: ignore[no-untyped-def]
    server = start_server(make_settings(CATALYST_GHCR_PULL_TOKEN="ghcr-x"), scripted_overrides())
    resp = httpx.post(
        f"{server.url}/api/v1/deployments",
        json=body(
            sovereignDomainMode="pool",
            sovereignPoolDomain="evil.example",
            sovereignSubdomain="x",
            sovereignFQDN="x.evil.example",
        ),
    )
    assert resp.status_code == 400
    assert resp.json()["error"] == "unmanaged-pool-domain"


def test_second_in_flight_deployment_for_the_same_fqdn_is_409(
    make_settings, start_server, scripted_overrides, body: Body
) -> None:  # type: ignore[no-untyped-def]
    gate = threading.Event()
    server = start_server(
        make_settings(), scripted_overrides(ScriptedProvisioner(gate=gate, postback_base="auto"))
    )
    try:
        first = httpx.post(f"{server.url}/api/v1/deployments", json=body())
        assert first.status_code == 201
        second = httpx.post(f"{server.url}/api/v1/deployments", json=body())
        assert second.status_code == 409
        assert second.json()["error"] == "fqdn-in-use"
        other = httpx.post(
            f"{server.url}/api/v1/deployments", json=body(sovereignFQDN="other.acme.example")
        )
        assert other.status_code == 201
    finally:
        gate.set()
    first_id = first.json()["id"]
    wait_status(server.url, first_id, {"ready"})
    held = httpx.post(f"{server.url}/api/v1/deployments", json=body())
    assert held.status_code == 409  # a ready Sovereign holds its FQDN until destroyed
    assert held.json()["holder"] == first_id
    assert httpx.delete(f"{server.url}/api/v1/deployments/{first_id}").status_code == 202
    wait_status(server.url, first_id, {"destroyed"})
    again = httpx.post(f"{server.url}/api/v1/deployments", json=body())
    assert again.status_code == 201


def test_list_is_newest_first_filtered_and_paged(server, body: Body) -> None:  # type: ignore[no-untyped-def]
    ids = []
    for i in range(5):
        created = httpx.post(
            f"{server.url}/api/v1/deployments", json=body(sovereignFQDN=f"l{i}.acme.example")
        ).json()
        ids.append(created["id"])
        wait_status(server.url, created["id"], {"ready"})
    listing = httpx.get(f"{server.url}/api/v1/deployments").json()
    assert [d["id"] for d in listing["deployments"]] == list(reversed(ids))
    assert "nextCursor" not in listing
    page1 = httpx.get(f"{server.url}/api/v1/deployments", params={"limit": 2}).json()
    page2 = httpx.get(
        f"{server.url}/api/v1/deployments", params={"limit": 2, "cursor": page1["nextCursor"]}
    ).json()
    page3 = httpx.get(
        f"{server.url}/api/v1/deployments", params={"limit": 2, "cursor": page2["nextCursor"]}
    ).json()
    seen = [d["id"] for p in (page1, page2, page3) for d in p["deployments"]]
    assert seen == list(reversed(ids))
    assert "nextCursor" not in page3
    assert httpx.get(f"{server.url}/api/v1/deployments", params={"status": "failed"}).json() == {
        "deployments": []
    }
    ready = httpx.get(f"{server.url}/api/v1/deployments", params={"status": "ready"}).json()
    assert len(ready["deployments"]) == 5
    assert ready["deployments"][0] == httpx.get(f"{server.url}/api/v1/deployments/{ids[-1]}").json()


@pytest.mark.parametrize(
    "params",
    [{"limit": "x"}, {"limit": "0"}, {"status": "bogus"}, {"cursor": "!!!"}],
    ids=["limit-text", "limit-zero", "status", "cursor"],
)
def test_list_rejects_bad_parameters(server, params: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    resp = httpx.get(f"{server.url}/api/v1/deployments", params=params)
    assert resp.status_code == 400
    assert resp.json()["error"].startswith("invalid-")


def test_list_limit_is_capped_at_500(server) -> None:  # type: ignore[no-untyped-def]
    assert httpx.get(f"{server.url}/api/v1/deployments", params={"limit": 10000}).status_code == 200


def test_pool_subdomain_follows_the_fqdn_label(
    make_settings, start_server, scripted_overrides, body: Body
) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(
        CATALYST_GHCR_PULL_TOKEN="ghcr-x", DYNADOT_API_KEY="k", DYNADOT_API_SECRET="s"
    )
    gate = threading.Event()
    server = start_server(settings, scripted_overrides(ScriptedProvisioner(gate=gate)))
    try:
        pool = {"sovereignDomainMode": "pool", "sovereignPoolDomain": "omani.works"}
        first = httpx.post(
            f"{server.url}/api/v1/deployments",
            json=body(sovereignFQDN="one.omani.works", sovereignSubdomain="acme", **pool),
        )
        second = httpx.post(
            f"{server.url}/api/v1/deployments",
            json=body(sovereignFQDN="two.omani.works", sovereignSubdomain="acme", **pool),
        )
        assert (first.status_code, second.status_code) == (201, 201)
        again = httpx.post(
            f"{server.url}/api/v1/deployments",
            json=body(sovereignFQDN="one.omani.works", sovereignSubdomain="one", **pool),
        )
        assert again.status_code == 409
        assert again.json()["error"] == "subdomain-conflict"
        dep = server.call(lambda: server.services.deployments.get(second.json()["id"]))
        assert dep.request.sovereign_subdomain == "two"
    finally:
        gate.set()
