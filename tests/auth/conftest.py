"""A `required`-mode server with every principal source: a tokens file, a local OIDC issuer
and (untrusted by default) proxy headers; plus the tokens of each role."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from catalyst_api.auth import Role
from catalyst_api.auth.startup import mint_into
from support.oidc import OidcIssuer, oidc_issuer
from support.server import LiveServer


@dataclass
class Realm:
    """The running server and one token per principal."""

    server: LiveServer
    issuer: OidcIssuer
    tokens_file: Path
    tokens: dict[str, str]

    @property
    def url(self) -> str:
        return self.server.url

    def headers(self, who: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}

    def create(self, who: str, body: dict[str, Any]) -> str:
        resp = httpx.post(f"{self.url}/api/v1/deployments", json=body, headers=self.headers(who))
        assert resp.status_code == 201, resp.text
        return str(resp.json()["id"])


@pytest.fixture
def issuer() -> Iterator[OidcIssuer]:
    with oidc_issuer() as running:
        yield running


@pytest.fixture
def tokens_file(data_root: Path) -> tuple[Path, dict[str, str]]:
    path = data_root / "auth-tokens"
    tokens = {
        "viewer": mint_into(path, "vera", Role.VIEWER),
        "operator": mint_into(path, "otto", Role.OPERATOR),
        "operator2": mint_into(path, "olga", Role.OPERATOR),
        "admin": mint_into(path, "ada", Role.ADMIN),
    }
    return path, tokens


@pytest.fixture
def realm_env(tokens_file, issuer: OidcIssuer) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {
        "CATALYST_AUTH_MODE": "required",
        "CATALYST_AUTH_TOKENS_FILE": str(tokens_file[0]),
        "CATALYST_AUTH_OIDC_ISSUER": issuer.url,
        "CATALYST_AUTH_OIDC_AUDIENCE": issuer.audience,
        "CATALYST_AUTH_TRUSTED_PROXIES": "192.0.2.0/24",
    }


@pytest.fixture
def realm(  # type: ignore[no-untyped-def]
    make_settings, start_server, scripted_overrides, tokens_file, issuer, realm_env
) -> Realm:
    server = start_server(make_settings(**realm_env), scripted_overrides())
    return Realm(server, issuer, tokens_file[0], dict(tokens_file[1]))


@pytest.fixture
def with_jwt() -> Callable[[Realm, str, list[str]], dict[str, str]]:
    def build(realm: Realm, user: str, groups: list[str]) -> dict[str, str]:
        token = realm.issuer.sign(preferred_username=user, groups=groups)
        return {"Authorization": f"Bearer {token}"}

    return build
