"""The console's Content-Security-Policy and the other headers every console answer carries."""

from __future__ import annotations

from urllib.parse import urlsplit

__all__ = ["content_security_policy", "security_headers"]


def _origin(url: str) -> str | None:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(oidc_issuer: str = "") -> str:
    """Scripts, styles and images from the app's own origin only (no inline script, no inline
    handler, no eval); requests to the app, plus the OIDC issuer's origin when one is set (the
    sign-in fetches its discovery document and exchanges the code there); never framed."""
    connect = ["'self'"]
    if issuer := _origin(oidc_issuer):
        connect.append(issuer)
    directives = [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "font-src 'self'",
        f"connect-src {' '.join(connect)}",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
    return "; ".join(directives)


def security_headers(oidc_issuer: str = "") -> dict[str, str]:
    """Headers of every console page and asset."""
    return {
        "Content-Security-Policy": content_security_policy(oidc_issuer),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
    }
