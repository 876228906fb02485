"""The console's pages: which template, which script, which title; rendered with Jinja2.

The template environment is built once (templates ship with the package and never change
while the process runs); everything that varies arrives as arguments of `render_page`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from enum import Enum
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from ..wire.kit import COMPONENTS, PHASE0_STEPS

__all__ = ["TIMELINE", "Page", "PageSettings", "render_page"]

TIMELINE: tuple[tuple[str, str], ...] = (
    *((step, step) for step in PHASE0_STEPS[:4]),
    ("dns", "dns"),
    ("kubeconfig", "kubeconfig"),
    (PHASE0_STEPS[4], PHASE0_STEPS[4]),
    ("component", "bootstrap kit"),
)
"""The deployment page's phase timeline in run order: (event phase, label); `component` is
Phase 1. Phases a run emits beyond these (retry banners, destroy) are added as they come."""


class Page(Enum):
    """A console page: (template, script module, title)."""

    LIST = ("list.html", "list.js", "Deployments")
    CREATE = ("create.html", "create.js", "Create deployment")
    DEPLOYMENT = ("deployment.html", "deployment.js", "Deployment")
    INFRASTRUCTURE = ("infrastructure.html", "infrastructure.js", "Infrastructure")
    OBJECTS = ("objects.html", "objects.js", "Objects")
    OIDC_CALLBACK = ("callback.html", "callback.js", "Signing in")

    @property
    def template(self) -> str:
        return self.value[0]

    @property
    def script(self) -> str:
        return self.value[1]

    @property
    def title(self) -> str:
        return self.value[2]


@dataclass(frozen=True, slots=True, kw_only=True)
class PageSettings:
    """What every page tells its scripts: the auth mode and the OIDC sign-in's parameters
    (empty when no issuer or no console client id is configured)."""

    auth_mode: str
    oidc_issuer: str = ""
    oidc_client_id: str = ""


@functools.cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader(__package__, "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_page(page: Page, settings: PageSettings, **context: Any) -> str:
    """The page's HTML (every value autoescaped)."""
    template = _environment().get_template(page.template)
    oidc = bool(settings.oidc_issuer and settings.oidc_client_id)
    return template.render(
        page=page.name.lower().replace("_", "-"),
        title=page.title,
        script=page.script,
        auth_mode=settings.auth_mode,
        oidc_issuer=settings.oidc_issuer if oidc else "",
        oidc_client_id=settings.oidc_client_id if oidc else "",
        components=COMPONENTS,
        phase_steps=TIMELINE,
        **context,
    )
