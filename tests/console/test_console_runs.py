"""The deployment page in a real browser: an injected failure and its retry, destroy with a
typed FQDN (the list follows live), and a server restart while the page is open."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from catalyst_api.wire.kit import COMPONENT_IDS
from console.browser import ConsoleTab
from console.conftest import checked_tab
from sandbox_e2e.harness import (
    VALID_TOKEN,
    SandboxFactory,
    SandboxProcess,
    byo_body,
    sandbox_factory,
)
from support.waiting import wait_for

pytestmark = pytest.mark.browser


def seqs(page: Page) -> list[int]:
    found = (
        page.get_by_role("log")
        .locator("[data-seq]")
        .evaluate_all("nodes => nodes.map(n => Number(n.dataset.seq))")
    )
    return [int(s) for s in found]


@pytest.mark.timeout(90)
def test_an_injected_failure_shows_the_component_its_message_and_the_blocked_ones(
    tab: ConsoleTab, server: SandboxProcess
) -> None:
    dep = server.create(byo_body("broken", orgName="Acme fail:spire"))
    page = tab.open(f"/deployments/{dep}")

    expect(page.locator("header[data-status]")).to_have_attribute(
        "data-status", "failed", timeout=60_000
    )
    spire = page.locator('[data-component="spire"]')
    expect(spire).to_have_attribute("data-state", "failed")
    expect(spire).to_contain_text("failure injected for component 'spire'")
    for blocked in ("nats-jetstream", "openbao"):
        card = page.locator(f'[data-component="{blocked}"]')
        expect(card).to_have_attribute("data-blocked-by", "spire")
        expect(card).to_have_attribute("data-state", "pending")
    for other in set(COMPONENT_IDS) - {"spire", "nats-jetstream", "openbao"}:
        expect(page.locator(f'[data-component="{other}"]')).to_have_attribute(
            "data-state", "installed"
        )
    expect(page.get_by_role("alert")).to_contain_text("spire failed")
    page.get_by_label("Level").select_option("error")
    shown = page.get_by_role("log").locator("[data-seq]:visible")
    expect(shown.first).to_be_visible()
    assert set(shown.evaluate_all("nodes => nodes.map(n => n.dataset.level)")) == {"error"}
    page.get_by_label("Level").select_option("")
    before = len(seqs(page))

    page.get_by_role("button", name="Retry").click()

    expect(page.get_by_role("status")).to_contain_text("Phase 1 (spire)")
    assert tab.sent("POST", f"/api/v1/deployments/{dep}/phases/spire/retry")
    # the retry's runbook note reaches the log, once
    expect(page.get_by_role("log").locator('[data-phase="spire"]')).to_have_count(1)
    assert seqs(page) == [e["seq"] for e in server.events(dep)]
    assert len(seqs(page)) == before + 1


@pytest.mark.timeout(90)
def test_destroy_needs_the_typed_fqdn_and_the_list_follows_live(
    tab: ConsoleTab, server: SandboxProcess
) -> None:
    dep = server.create(byo_body("doomed"))
    server.follow(dep)
    listing = tab.open("/")
    row = listing.locator(f'tr[data-id="{dep}"]')
    expect(row).to_have_attribute("data-status", "ready")
    page = tab.new_page()
    page.goto(f"{tab.origin}/deployments/{dep}")
    expect(page.locator("header[data-status]")).to_have_attribute("data-status", "ready")

    page.get_by_role("button", name="Destroy").click()
    confirm = page.get_by_role("button", name="Confirm destroy")
    # the button gives way to its confirmation: "Destroy" names one control at a time
    expect(page.get_by_role("button", name="Destroy")).to_have_count(1)
    page.get_by_label("Confirm FQDN").fill("doomed.sandbox.exampl")
    expect(confirm).to_be_disabled()
    page.get_by_label("Confirm FQDN").press("Enter")
    assert tab.sent("DELETE") == []  # nothing is sent until the FQDN matches

    page.get_by_label("Confirm FQDN").fill("doomed.sandbox.example")
    confirm.click()

    expect(page.locator("header[data-status]")).to_have_attribute(
        "data-status", "destroyed", timeout=60_000
    )
    assert tab.sent("DELETE") == [f"{tab.origin}/api/v1/deployments/{dep}"]
    expect(row).to_have_attribute("data-status", "destroyed")
    listing.get_by_label("Status").select_option("ready")
    expect(listing.locator(f'tr[data-id="{dep}"]')).to_have_count(0)


@pytest.fixture
def restartable(tmp_path: Path) -> Iterator[SandboxFactory]:
    yield from sandbox_factory(tmp_path)


@pytest.mark.timeout(150)
def test_a_server_restart_while_the_page_is_open_loses_and_repeats_no_event(
    browser: Browser, restartable: SandboxFactory
) -> None:
    server = restartable(speed=10.0)
    for tab in checked_tab(browser, server.url):
        server.refuse_postbacks()  # the run waits for the kubeconfig: a restart resumes it
        dep = server.create(byo_body("restarted"))
        page = tab.open(f"/deployments/{dep}")
        server.wait_kubeconfig_wait(dep)
        wait_for(lambda: "sandbox kubeconfig postback failed; retrying" in server.log_text(), 60)
        expect(page.get_by_role("log").locator('[data-phase="kubeconfig"]')).not_to_have_count(0)
        seen_before = seqs(page)

        server.kill9()
        expect(page.locator("#stream-state")).to_have_text("reconnecting…")
        server.accept_postbacks()
        server.start()

        expect(page.locator("header[data-status]")).to_have_attribute(
            "data-status", "ready", timeout=120_000
        )
        shown = seqs(page)
        assert shown[: len(seen_before)] == seen_before
        assert shown == [e["seq"] for e in server.events(dep)]
        assert len(set(shown)) == len(shown)
        for component in COMPONENT_IDS:
            expect(page.locator(f'[data-component="{component}"]')).to_have_attribute(
                "data-state", "installed"
            )


@pytest.mark.timeout(120)
def test_a_refused_hetzner_token_is_replaced_from_the_page_and_the_retry_ends_ready(
    tab: ConsoleTab, server: SandboxProcess
) -> None:
    refused = "invalid-" + "x" * 60
    dep = server.create(byo_body("replaced", hetznerToken=refused))
    page = tab.open(f"/deployments/{dep}")
    expect(page.locator("header[data-status]")).to_have_attribute(
        "data-status", "failed", timeout=60_000
    )
    expect(page.get_by_role("alert")).to_contain_text("tofu apply")
    expect(page.get_by_role("button", name="Retry")).to_be_visible()

    page.get_by_label("Hetzner token").fill(VALID_TOKEN)
    page.get_by_role("button", name="Use this token").click()

    expect(page.locator("header[data-status]")).to_have_attribute(
        "data-status", "ready", timeout=90_000
    )
    assert tab.sent("POST", f"/api/v1/deployments/{dep}/phases/tofu-apply/retry")
    for component in COMPONENT_IDS:
        expect(page.locator(f'[data-component="{component}"]')).to_have_attribute(
            "data-state", "installed"
        )
    expect(page.locator("#retry-token")).to_be_hidden()
    assert seqs(page) == [e["seq"] for e in server.events(dep)]
    assert page.get_by_label("Hetzner token").input_value() == ""
    assert VALID_TOKEN not in page.content() and refused not in page.content()
