"""Fixtures of the console's browser tests: one Chromium and one sandbox server per module,
a fresh browser context per test (checked for foreign requests and CSP reports)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from console.browser import ConsoleTab, launch, open_tab
from sandbox_e2e.harness import SandboxProcess, start_sandbox


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from launch()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxProcess]:
    """One sandbox server (speed 40) for the tests of a module."""
    yield from start_sandbox(tmp_path_factory.mktemp("console"))


def checked_tab(browser: Browser, origin: str) -> Iterator[ConsoleTab]:
    """A tab on `origin`; afterwards: nothing loaded from elsewhere, no CSP report."""
    tab = open_tab(browser, origin)
    try:
        yield tab
    finally:
        tab.context.close()
    assert tab.foreign_requests() == []
    assert tab.problems() == []


@pytest.fixture
def tab(browser: Browser, server: SandboxProcess) -> Iterator[ConsoleTab]:
    yield from checked_tab(browser, server.url)


@pytest.fixture
def downloads(tmp_path: Path) -> Path:
    path = tmp_path / "downloads"
    path.mkdir()
    return path
