"""The console's OIDC sign-in in a real browser: authorization code + PKCE (S256) against a
local issuer; the token lands in the tab's sessionStorage and the API accepts it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from console.browser import open_tab
from sandbox_e2e.harness import SandboxProcess, start_sandbox
from support.oidc import OidcIssuer, oidc_issuer

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def issuer() -> Iterator[OidcIssuer]:
    with oidc_issuer() as running:
        yield running


@pytest.fixture(scope="module")
def oidc_server(
    tmp_path_factory: pytest.TempPathFactory, issuer: OidcIssuer
) -> Iterator[SandboxProcess]:
    env = {
        "CATALYST_AUTH_MODE": "required",
        "CATALYST_AUTH_OIDC_ISSUER": issuer.url,
        "CATALYST_AUTH_OIDC_AUDIENCE": issuer.audience,
        "CATALYST_CONSOLE_OIDC_CLIENT_ID": "catalyst-console",
    }
    yield from start_sandbox(tmp_path_factory.mktemp("oidc"), env=env)


@pytest.mark.timeout(60)
def test_oidc_sign_in_uses_the_code_flow_with_pkce(
    browser: Browser, oidc_server: SandboxProcess, issuer: OidcIssuer
) -> None:
    tab = open_tab(browser, oidc_server.url)
    try:
        page = tab.open("/deployments/new")
        page.get_by_role("button", name="Single sign-on (OIDC)").click()

        expect(page.get_by_role("heading", name="Create deployment")).to_be_visible()
        expect(page.locator("#who")).to_have_text("ana (operator)")
        assert page.url == f"{oidc_server.url}/deployments/new"  # back where it started
        assert [e["ok"] for e in issuer.exchanges] == [True]
        asked = issuer.exchanges[0]["asked"]
        assert asked["code_challenge_method"] == "S256"
        assert asked["client_id"] == "catalyst-console"
        assert asked["redirect_uri"] == f"{oidc_server.url}/console/oidc-callback"
        assert page.evaluate("sessionStorage.length") == 1
        assert page.evaluate("localStorage.length") == 0
        assert tab.context.cookies(oidc_server.url) == []
        # the console talked to itself and to the issuer, nothing else
        assert {u.split("/")[2] for u in tab.foreign_requests()} == {issuer.url.split("/")[2]}
        assert tab.problems() == []
    finally:
        tab.context.close()
