"""OIDC bearers against a real local issuer: discovery + JWKS over HTTP, key rotation mid-test,
claims checked, roles from the configured claim."""

from __future__ import annotations

import time

import httpx
import jwt
import pytest

from support.oidc import oidc_issuer


def _get(realm, token: str, path: str = "/api/v1/deployments") -> httpx.Response:  # type: ignore[no-untyped-def]
    return httpx.get(f"{realm.url}{path}", headers={"Authorization": f"Bearer {token}"})


def test_key_rotation_mid_test_is_followed(realm) -> None:  # type: ignore[no-untyped-def]
    issuer = realm.issuer
    first = issuer.sign(preferred_username="kim", groups=["catalyst-viewer"])
    assert _get(realm, first).status_code == 200
    fetches = issuer.jwks_fetches
    assert _get(realm, first).status_code == 200
    assert issuer.jwks_fetches == fetches  # cached: no fetch per request

    old = issuer.rotate()
    second = issuer.sign(preferred_username="kim", groups=["catalyst-viewer"])
    assert _get(realm, second).status_code == 200  # unknown kid → the new key set is fetched
    assert issuer.jwks_fetches == fetches + 1
    # the rotated-out key is no longer published: its tokens stop verifying
    stale = issuer.sign(old, preferred_username="kim", groups=["catalyst-viewer"])
    assert _get(realm, stale).status_code == 401
    # a token verified (and remembered) before the rotation is forgotten with its key
    assert _get(realm, first).status_code == 401


def test_forged_kid_spam_cannot_hammer_the_issuer(realm) -> None:  # type: ignore[no-untyped-def]
    issuer = realm.issuer
    assert _get(realm, issuer.sign(groups=["catalyst-viewer"])).status_code == 200
    before = issuer.jwks_fetches
    for n in range(10):
        forged = issuer.sign(groups=["catalyst-admin"], headers={"kid": f"forged-{n}"})
        assert _get(realm, forged).status_code == 401
    assert issuer.jwks_fetches - before <= 3


@pytest.mark.parametrize(
    ("claims", "ok"),
    [
        # times are offsets from now, applied when the test runs (not at collection)
        ({"nbf": 3600}, False),  # not yet valid
        ({"nbf": 5}, True),  # within the leeway
        ({"exp": -5}, True),  # within the leeway
        ({"exp": -3600}, False),
        ({"iss": "https://elsewhere.example"}, False),
        ({"aud": ["other", "catalyst-api"]}, True),
        ({"aud": None}, False),  # missing audience
        ({"exp": None}, False),  # missing expiry
    ],
)
def test_claims_are_checked(realm, claims, ok: bool) -> None:  # type: ignore[no-untyped-def]
    now = int(time.time())
    timed = {k: now + v if k in ("nbf", "exp") and v is not None else v for k, v in claims.items()}
    token = realm.issuer.sign(groups=["catalyst-viewer"], **timed)
    assert _get(realm, token).status_code == (200 if ok else 401)


def test_symmetric_and_unsigned_tokens_are_refused(realm) -> None:  # type: ignore[no-untyped-def]
    issuer = realm.issuer
    claims = {"iss": issuer.url, "aud": issuer.audience, "exp": int(time.time()) + 60}
    public_pem = issuer.key.jwk()["n"]
    hs = jwt.encode({**claims, "groups": ["catalyst-admin"]}, public_pem, algorithm="HS256")
    assert _get(realm, hs).status_code == 401
    none = jwt.encode({**claims, "groups": ["catalyst-admin"]}, "", algorithm="none")
    assert _get(realm, none).status_code == 401


def test_roles_come_from_the_groups_claim(realm) -> None:  # type: ignore[no-untyped-def]
    issuer = realm.issuer
    viewer = issuer.sign(preferred_username="kim", groups=["/catalyst-viewer", "staff"])
    nobody = issuer.sign(preferred_username="kim", groups=["staff"])
    assert _get(realm, viewer).status_code == 200
    resp = _get(realm, nobody)
    assert resp.status_code == 403
    assert resp.json()["error"] == "forbidden"
    made = httpx.post(
        f"{realm.url}/api/v1/deployments",
        content=b"{}",
        headers={"Authorization": f"Bearer {viewer}"},
    )
    assert made.status_code == 403


def test_a_dotted_roles_claim_reaches_nested_claims(  # type: ignore[no-untyped-def]
    make_settings, start_server, scripted_overrides
) -> None:
    with oidc_issuer() as issuer:
        server = start_server(
            make_settings(
                CATALYST_AUTH_MODE="required",
                CATALYST_AUTH_OIDC_ISSUER=issuer.url,
                CATALYST_AUTH_OIDC_AUDIENCE=issuer.audience,
                CATALYST_AUTH_OIDC_ROLES_CLAIM="realm_access.roles",
            ),
            scripted_overrides(),
        )
        token = issuer.sign(realm_access={"roles": ["catalyst-admin"]}, groups=[])
        resp = httpx.get(
            f"{server.url}/api/v1/deployments", headers={"Authorization": f"Bearer {token}"}
        )
        assert resp.status_code == 200


def test_sse_routes_accept_access_token_query_others_do_not(realm, body) -> None:  # type: ignore[no-untyped-def]
    dep = realm.create("operator", body())
    token = realm.issuer.sign(preferred_username="otto", groups=["catalyst-viewer"])
    with httpx.stream(
        "GET", f"{realm.url}/api/v1/deployments/{dep}/logs?access_token={token}", timeout=10
    ) as resp:
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
    plain = httpx.get(f"{realm.url}/api/v1/deployments/{dep}?access_token={token}")
    assert plain.status_code == 401
