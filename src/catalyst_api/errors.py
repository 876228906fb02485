"""The errors catalyst-api answers with, each carrying its HTTP status and wire body.

No FastAPI here: `api/errors.py` maps every `CatalystError` to a response in one place. Codes and
messages come verbatim from the original service where it defined them (spec §3–§9).

    CatalystError                     base: status + JSON body {"error", "detail"?}
    ├── InvalidRequest (400)          validation failures, unknown phase, bad ids …
    │   └── InvalidBody (400)         undecodable create body: text/plain `invalid request body: …`
    ├── Unauthorized (401)            missing bearer
    ├── Forbidden (403)               wrong / absent / already-used bearer
    ├── NotFound (404)                JSON not-found (`deployment-not-found`, `job-not-found` …)
    │   └── DeploymentNotFound (404)  text/plain `deployment not found` (the original's http.Error)
    ├── RequestTimeout (408)          `request-timeout`: the body did not arrive in time
    ├── Conflict (409)                `fqdn-in-use`, `credentials-required`, `subdomain-conflict` …
    ├── Gone (410)                    `deployment-destroyed` (kubeconfig of a destroyed Sovereign)
    ├── PayloadTooLarge (413)
    ├── Unprocessable (422)           kubeconfig `empty-body` / `body-too-large`, `plan-failed`
    ├── TooManyRequests (429)         `too-many-plans` (with Retry-After)
    ├── BadGateway (502)
    ├── ServiceUnavailable (503)      `pdm-unavailable`, store/dir unusable …
    └── GatewayTimeout (504)
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "BadGateway",
    "CatalystError",
    "Conflict",
    "DeploymentNotFound",
    "Forbidden",
    "GatewayTimeout",
    "Gone",
    "InternalError",
    "InvalidBody",
    "InvalidRequest",
    "NotFound",
    "PayloadTooLarge",
    "RequestTimeout",
    "ServiceUnavailable",
    "TooManyRequests",
    "Unauthorized",
    "Unprocessable",
]


class CatalystError(Exception):
    """Base of every error that reaches a client with a deliberate status and body."""

    status: ClassVar[int] = 500
    content_type: ClassVar[str] = "application/json"

    def __init__(
        self,
        code: str,
        detail: str | None = None,
        *,
        extra: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or code)
        self.code = code
        self.detail = detail
        self.extra = extra or {}
        self._body = body
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        """The JSON body: `{"error": code, "detail": detail, **extra}` unless overridden."""
        if self._body is not None:
            return self._body
        out: dict[str, Any] = {"error": self.code}
        if self.detail is not None:
            out["detail"] = self.detail
        out.update(self.extra)
        return out

    def text(self) -> str | None:
        """A text/plain body instead of JSON, or None."""
        return None


class InvalidRequest(CatalystError):
    status = 400


class InvalidBody(InvalidRequest):
    """Create body that is not JSON or has a mistyped field (original: text/plain 400)."""

    content_type = "text/plain; charset=utf-8"

    def __init__(self, decoder_error: str) -> None:
        super().__init__("invalid-request-body", decoder_error)
        self.decoder_error = decoder_error

    def text(self) -> str:
        return f"invalid request body: {self.decoder_error}\n"


class Unauthorized(CatalystError):
    status = 401


class Forbidden(CatalystError):
    status = 403


class NotFound(CatalystError):
    status = 404


class DeploymentNotFound(NotFound):
    """Unknown deployment id on the original's routes: text/plain `deployment not found`."""

    content_type = "text/plain; charset=utf-8"

    def __init__(self) -> None:
        super().__init__("deployment-not-found", "deployment not found")

    def text(self) -> str:
        return "deployment not found\n"


class RequestTimeout(CatalystError):
    status = 408


class Conflict(CatalystError):
    status = 409


class Gone(CatalystError):
    status = 410


class PayloadTooLarge(CatalystError):
    status = 413


class Unprocessable(CatalystError):
    status = 422


class TooManyRequests(CatalystError):
    status = 429


class InternalError(CatalystError):
    status = 500


class BadGateway(CatalystError):
    status = 502


class ServiceUnavailable(CatalystError):
    status = 503


class GatewayTimeout(CatalystError):
    status = 504
