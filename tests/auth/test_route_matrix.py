"""`CATALYST_AUTH_MODE=required`: every route × every kind of caller → the expected status.

The matrix walks `ROUTE_ACCESS`, and `test_every_served_route_has_a_rule` fails when a route is
served without a line in it. Requests that pass authorization carry bodies the route rejects
(400) so nothing is created or destroyed; an allowed caller gets exactly what an admin gets for
the same request, a foreign deployment looks exactly like an unknown id.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from catalyst_api.api import ROUTERS
from catalyst_api.api.access import ROUTE_ACCESS, Access
from catalyst_api.app import create_app
from catalyst_api.auth import Role
from support.logs import audit_records
from support.waiting import wait_for

BODIES: dict[str, bytes] = {
    "POST": b'{"orgName": 5}',
    "DELETE": b'{"hetznerToken": 5}',
    "PUT": b"",
}
PARAMS = {"phase": "no-such-phase", "registrar": "dynadot", "job_id": "no-such-job", "kind": "pods"}
DEP_PARAMS = ("deployment_id", "dep_id", "sovereign_id")


def _path(template: str, dep: str, exec_id: str) -> str:
    path = template.replace("{registrar:path}", "{registrar}")
    for name in DEP_PARAMS:
        path = path.replace("{" + name + "}", dep)
    path = path.replace("{exec_id}", exec_id)
    for name, value in PARAMS.items():
        path = path.replace("{" + name + "}", value)
    return path


def _call(
    client: httpx.Client, key: tuple[str, str], dep: str, exec_id: str, headers: dict[str, str]
) -> httpx.Response:
    method, template = key
    return client.request(
        method,
        _path(template, dep, exec_id),
        content=BODIES.get(method),
        headers={"Content-Type": "application/json", **headers},
        timeout=10,
    )


def _shape(resp: httpx.Response) -> tuple[int, str]:
    return resp.status_code, resp.text


def _protected() -> list[tuple[str, str]]:
    return [k for k, rule in ROUTE_ACCESS.items() if rule.role is not None]


def _ids() -> list[str]:
    return [f"{m} {p}" for m, p in _protected()]


def test_every_served_route_has_a_rule(make_settings) -> None:  # type: ignore[no-untyped-def]
    app = create_app(make_settings())
    routes = [r for router in ROUTERS for r in router.routes] + list(app.router.routes)
    served = {
        (method, str(getattr(route, "path", "")))
        for route in routes
        for method in (getattr(route, "methods", None) or set()) - {"HEAD"}
    }
    assert served == set(ROUTE_ACCESS), sorted(served ^ set(ROUTE_ACCESS))


@pytest.fixture
def world(realm, with_jwt, body):  # type: ignore[no-untyped-def]
    """otto's deployment, vera's (created while vera held the operator role, via OIDC), an
    execution of otto's, and a keep-alive client."""
    otto = realm.create("operator", body(sovereignFQDN="otto.acme.example"))
    vera_headers = with_jwt(realm, "vera", ["catalyst-operator"])
    resp = httpx.post(
        f"{realm.url}/api/v1/deployments",
        json=body(sovereignFQDN="vera.acme.example"),
        headers=vera_headers,
    )
    assert resp.status_code == 201, resp.text
    vera = resp.json()["id"]
    admin = realm.headers("admin")

    def execution() -> str | None:
        jobs = httpx.get(f"{realm.url}/api/v1/deployments/{otto}/jobs", headers=admin).json()
        for job in jobs if isinstance(jobs, list) else jobs.get("jobs", []):
            if job.get("latestExecutionId"):
                return str(job["latestExecutionId"])
        return None

    exec_id = wait_for(execution, timeout=15)
    with httpx.Client(base_url=realm.url) as client:
        yield {"otto": otto, "vera": vera, "exec": exec_id, "client": client}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("key", _protected(), ids=_ids())
def test_bad_or_missing_credentials_are_401(realm, world, key) -> None:  # type: ignore[no-untyped-def]
    issuer = realm.issuer
    forger = issuer.rotate()
    issuer.key, forged_key = forger, issuer.key  # a key the issuer never published, same kid
    forged_key.kid = forger.kid
    bad = {
        "none": {},
        "wrong token": {"Authorization": "Bearer cat_not-a-real-token"},
        "expired JWT": {"Authorization": f"Bearer {issuer.sign(groups=['catalyst-admin'], exp=1)}"},
        "forged JWT": {
            "Authorization": f"Bearer {issuer.sign(forged_key, groups=['catalyst-admin'])}"
        },
        "wrong audience JWT": {
            "Authorization": f"Bearer {issuer.sign(aud='other', groups=['catalyst-admin'])}"
        },
    }
    for label, headers in bad.items():
        resp = _call(world["client"], key, world["otto"], world["exec"], headers)
        assert resp.status_code == 401, (label, resp.text)
        assert resp.json()["error"] == "unauthenticated", label
        assert resp.headers["www-authenticate"].startswith("Bearer"), label


@pytest.mark.timeout(120)
@pytest.mark.parametrize("key", _protected(), ids=_ids())
def test_roles_get_what_an_admin_gets_or_403(realm, world, key) -> None:  # type: ignore[no-untyped-def]
    rule: Access = ROUTE_ACCESS[key]
    client = world["client"]
    admin = realm.headers("admin")
    callers = {"viewer": (Role.VIEWER, world["vera"]), "operator": (Role.OPERATOR, world["otto"])}
    for who, (role, own) in callers.items():
        resp = _call(client, key, own, world["exec"], realm.headers(who))
        assert rule.role is not None
        if role < rule.role:
            assert resp.status_code == 403, (who, resp.text)
            assert resp.json()["error"] == "forbidden"
            continue
        if key[1].endswith("{exec_id}/logs") and who == "viewer":
            continue  # the execution is otto's: covered by the foreign-deployment test
        as_admin = _call(client, key, own, world["exec"], admin)
        assert resp.status_code not in (401, 403), (who, resp.text)
        assert _shape(resp)[0] == _shape(as_admin)[0], (who, resp.text, as_admin.text)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("key", [k for k in _protected() if ROUTE_ACCESS[k].owned], ids=str)
def test_another_users_deployment_looks_unknown(realm, world, key, log_text) -> None:  # type: ignore[no-untyped-def]
    rule = ROUTE_ACCESS[key]
    client = world["client"]
    unknown = uuid.uuid4().hex[:16]
    resp = _call(client, key, world["otto"], world["exec"], realm.headers("operator2"))
    if rule.role is Role.ADMIN:
        assert resp.status_code == 403
        return
    assert resp.status_code == 404, resp.text
    as_admin_unknown = _call(client, key, unknown, "e" * 16, realm.headers("admin"))
    if as_admin_unknown.status_code == 404:
        assert resp.text.replace(world["otto"], "ID") == as_admin_unknown.text.replace(
            unknown, "ID"
        )
    # the 404 was a denial (audited), and the owner is not denied
    own = _call(client, key, world["otto"], world["exec"], realm.headers("operator"))
    route = f"{key[0]} {key[1]}"
    denials = {
        (r["who"], r["route"]) for r in audit_records(log_text()) if r["outcome"] == "denied"
    }
    assert ("olga", route) in denials
    assert ("otto", route) not in denials
    if own.status_code != 404:
        assert (own.status_code, own.text) != (resp.status_code, resp.text)


def test_list_shows_own_deployments_only_admin_sees_all(realm, world) -> None:  # type: ignore[no-untyped-def]
    def ids(who: str) -> set[str]:
        page: dict[str, Any] = httpx.get(
            f"{realm.url}/api/v1/deployments", headers=realm.headers(who)
        ).json()
        return {d["id"] for d in page["deployments"]}

    assert ids("operator") == {world["otto"]}
    assert ids("viewer") == {world["vera"]}
    assert ids("operator2") == set()
    assert ids("admin") == {world["otto"], world["vera"]}
    state = httpx.get(
        f"{realm.url}/api/v1/deployments/{world['otto']}", headers=realm.headers("operator")
    ).json()
    assert state["owner"] == "otto"


def test_public_routes_need_nothing(realm) -> None:  # type: ignore[no-untyped-def]
    assert httpx.get(f"{realm.url}/healthz").status_code == 200
    ready = httpx.get(f"{realm.url}/readyz").json()
    assert ready["checks"]["auth"] == {"ok": True, "mode": "required"}
    assert httpx.get(f"{realm.url}/metrics").status_code == 200
    assert httpx.get(f"{realm.url}/openapi.json").status_code == 200


def test_openapi_documents_401_and_403_on_every_protected_route(realm) -> None:  # type: ignore[no-untyped-def]
    doc = httpx.get(f"{realm.url}/openapi.json").json()
    for (method, template), rule in ROUTE_ACCESS.items():
        op = doc["paths"].get(template.replace(":path}", "}"), {}).get(method.lower())
        if op is None:
            continue  # not in the schema (health, metrics, the document itself)
        if rule.role is None:
            assert "401" not in op["responses"] or op.get("security") != [{"apiBearer": []}, {}]
            continue
        assert {"401", "403"} <= set(op["responses"]), (method, template)
        assert {"apiBearer": []} in op["security"]
