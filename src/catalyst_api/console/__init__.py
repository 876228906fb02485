"""The built-in web console (issue 18): server-rendered pages, their scripts and stylesheet.

What it is: a few Jinja2 templates (`templates/`), plain ES-module scripts and one stylesheet
(`static/`), all served by catalyst-api itself at `/` (no Node build, no CDN). The pages hold
no deployment data: they name what to show in `data-*` attributes, and the scripts fetch it
from the API with the tab's bearer (`sessionStorage`), so a page is public in every auth mode
and the API's own rules (`api/access.py`) decide what each caller sees.

Usage: `api/console.py` renders a `Page` with `render_page` and serves `static_asset(name)`;
both answers carry `content_security_policy(...)` (scripts and styles from 'self' only, no
inline script, no eval). No FastAPI here.
"""

from .assets import Asset, static_asset
from .pages import Page, PageSettings, render_page
from .policy import content_security_policy, security_headers

__all__ = [
    "Asset",
    "Page",
    "PageSettings",
    "content_security_policy",
    "render_page",
    "security_headers",
    "static_asset",
]
