"""Playwright driving Debian's Chromium (`/usr/bin/chromium`, installed by
scripts/install-tools.sh: Playwright's own browser download cannot work offline).

`ConsoleTab` is one browser context on a console origin: it records every request the
browser makes and every console message, so a test can assert that nothing was loaded from
another origin and that no Content-Security-Policy violation was reported.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
# The network is closed: without these Chromium hangs on connection attempts of its own.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 30_000


def launch() -> Iterator[Browser]:
    """One Chromium for a test module."""
    if not CHROMIUM.exists():
        raise RuntimeError(f"{CHROMIUM} is missing: run `make install` (apt package chromium)")
    playwright: Playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class ConsoleTab:
    """A browser context on `origin` with its request and console-message logs."""

    origin: str
    context: BrowserContext
    page: Page
    requests: list[tuple[str, str]] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    def open(self, path: str) -> Page:
        self.page.goto(f"{self.origin}{path}")
        return self.page

    def new_page(self) -> Page:
        page = self.context.new_page()
        self._watch(page)
        return page

    def _watch(self, page: Page) -> None:
        page.on("request", lambda req: self.requests.append((req.method, req.url)))
        page.on("console", lambda msg: self.messages.append(f"{msg.type}: {msg.text}"))
        page.on("pageerror", lambda exc: self.messages.append(f"pageerror: {exc}"))

    def foreign_requests(self) -> list[str]:
        """Requests to anything but the console's own origin (blob: downloads excepted)."""
        own = urlsplit(self.origin)
        return [
            url
            for _, url in self.requests
            if not url.startswith("blob:")
            and (urlsplit(url).scheme, urlsplit(url).netloc) != (own.scheme, own.netloc)
        ]

    def problems(self) -> list[str]:
        """CSP violations and script errors the browser reported."""
        return [
            m for m in self.messages if "Content Security Policy" in m or m.startswith("pageerror")
        ]

    def sent(self, method: str, fragment: str = "") -> list[str]:
        return [url for m, url in self.requests if m == method and fragment in url]


def open_tab(browser: Browser, origin: str) -> ConsoleTab:
    context = browser.new_context(accept_downloads=True, base_url=origin)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    tab = ConsoleTab(origin=origin, context=context, page=page)
    tab._watch(page)
    return tab
