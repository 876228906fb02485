"""The console in `CATALYST_AUTH_MODE=required`: pages are public and show a sign-in; the token
stays in the tab's sessionStorage; a viewer sees no create, retry, destroy or kubeconfig
controls. Every console answer carries the Content-Security-Policy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from catalyst_api.auth import Role
from catalyst_api.auth.startup import mint_into
from catalyst_api.console import content_security_policy
from console.browser import ConsoleTab
from console.conftest import checked_tab
from sandbox_e2e.harness import SandboxProcess, start_sandbox

pytestmark = pytest.mark.browser

PAGES = (
    "/",
    "/deployments/new",
    "/deployments/0123456789abcdef",
    "/deployments/0123456789abcdef/infrastructure",
    "/deployments/0123456789abcdef/objects",
    "/console/oidc-callback",
)


@pytest.fixture(scope="module")
def tokens(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    path = tmp_path_factory.mktemp("tokens") / "auth-tokens"
    return path, {
        "viewer": mint_into(path, "vera", Role.VIEWER),
        "admin": mint_into(path, "ada", Role.ADMIN),
    }


@pytest.fixture(scope="module")
def guarded(
    tmp_path_factory: pytest.TempPathFactory, tokens: tuple[Path, dict[str, str]]
) -> Iterator[SandboxProcess]:
    env = {"CATALYST_AUTH_MODE": "required", "CATALYST_AUTH_TOKENS_FILE": str(tokens[0])}
    yield from start_sandbox(tmp_path_factory.mktemp("guarded"), env=env)


@pytest.fixture
def guarded_tab(browser: Browser, guarded: SandboxProcess) -> Iterator[ConsoleTab]:
    yield from checked_tab(browser, guarded.url)


def sign_in(page: Page, token: str) -> None:
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()


def test_without_a_token_the_console_shows_the_sign_in(
    guarded_tab: ConsoleTab, guarded: SandboxProcess, tokens: tuple[Path, dict[str, str]]
) -> None:
    page = guarded_tab.open("/")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(page.get_by_role("heading", name="Deployments")).to_be_hidden()

    sign_in(page, "cat_not-a-real-token")
    expect(page.locator("#sign-in-error")).to_contain_text("not accepted")

    sign_in(page, tokens[1]["admin"])
    expect(page.get_by_role("heading", name="Deployments")).to_be_visible()
    expect(page.get_by_role("link", name="Create deployment")).to_be_visible()
    assert page.evaluate("sessionStorage.length") == 1
    assert page.evaluate("localStorage.length") == 0
    assert guarded_tab.context.cookies() == []
    # the token never travels in a URL
    assert not [url for _, url in guarded_tab.requests if tokens[1]["admin"] in url]


def test_a_viewer_sees_no_create_or_destroy_controls(
    guarded_tab: ConsoleTab, tokens: tuple[Path, dict[str, str]]
) -> None:
    page = guarded_tab.open("/")
    sign_in(page, tokens[1]["viewer"])
    expect(page.get_by_role("heading", name="Deployments")).to_be_visible()
    expect(page.locator("#who")).to_have_text("vera (viewer)")
    expect(page.get_by_role("link", name="Create deployment")).to_have_count(0)

    page.goto(f"{guarded_tab.origin}/deployments/0123456789abcdef")  # same tab: still signed in
    expect(page.get_by_role("alert")).to_contain_text("no deployment")
    for name in ("Destroy", "Retry", "Download kubeconfig", "Confirm destroy"):
        expect(page.get_by_role("button", name=name, include_hidden=True)).to_have_count(0)
    expect(page.get_by_label("Confirm FQDN")).to_have_count(0)


def test_every_console_answer_carries_the_content_security_policy(
    guarded: SandboxProcess,
) -> None:
    expected = content_security_policy()
    assert "script-src 'self'" in expected and "'unsafe" not in expected
    for path in (*PAGES, "/console/static/console.css", "/console/static/api.js"):
        resp = httpx.get(f"{guarded.url}{path}", timeout=10)
        assert resp.status_code == 200, path
        assert resp.headers["content-security-policy"] == expected, path
        assert resp.headers["x-frame-options"] == "DENY"
        assert "<script>" not in resp.text and " on" + "click=" not in resp.text
    missing = httpx.get(f"{guarded.url}/console/static/nope.js", timeout=10)
    assert missing.status_code == 404
    assert missing.headers["content-security-policy"] == expected
    traversal = httpx.get(f"{guarded.url}/console/static/..%2Fpages.py", timeout=10)
    assert traversal.status_code == 404


def test_every_page_loads_without_a_csp_report_or_a_foreign_request(
    guarded_tab: ConsoleTab, tokens: tuple[Path, dict[str, str]]
) -> None:
    page = guarded_tab.open("/")
    sign_in(page, tokens[1]["admin"])
    expect(page.get_by_role("heading", name="Deployments")).to_be_visible()
    for path in PAGES[1:-1]:
        guarded_tab.open(path)
        expect(page.locator("main")).to_be_visible()
    # checked_tab asserts: no request to another origin, no CSP violation, no script error


def test_serve_prints_the_console_url_first(guarded: SandboxProcess) -> None:
    first = guarded.log_text().splitlines()[0]
    assert first == f"catalyst-api console: {guarded.url}/"


def test_the_session_route_names_the_caller_and_its_role(
    guarded: SandboxProcess, tokens: tuple[Path, dict[str, str]]
) -> None:
    url = f"{guarded.url}/api/v1/session"
    assert httpx.get(url, timeout=10).status_code == 401
    viewer = httpx.get(url, headers={"Authorization": f"Bearer {tokens[1]['viewer']}"}, timeout=10)
    assert viewer.json() == {"authMode": "required", "principal": "vera", "role": "viewer"}
