"""The kube layer's own errors: lightkube / httpx2 failures are translated here, once.

    KubeError                   base; `str()` is safe to show (never kubeconfig content)
    ├── KubeConfigError         the kubeconfig cannot build a client
    ├── KubeConnectionError     transport failure, timeout or a silent (dead) watch stream
    └── KubeStatusError         the apiserver answered with a failure Status (`code`, `reason`)
        ├── KubeNotFound        404
        └── KubeExpired         410 Gone: the resourceVersion is too old, list again

Callers above `kube/` catch these and nothing from lightkube.
"""

from __future__ import annotations

from typing import Any

import httpx2
from lightkube import ApiError

__all__ = [
    "KubeConfigError",
    "KubeConnectionError",
    "KubeError",
    "KubeExpired",
    "KubeNotFound",
    "KubeStatusError",
    "status_error",
    "status_from_body",
    "translate",
]


class KubeError(Exception):
    """Base of every error the kube layer raises."""


class KubeConfigError(KubeError):
    """The kubeconfig is empty, not YAML, or does not describe a usable cluster/user."""


class KubeConnectionError(KubeError):
    """The apiserver could not be reached, the connection broke, or a stream went silent."""


class KubeStatusError(KubeError):
    """The apiserver answered with a failure `Status`."""

    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(f"{code} {reason}: {message}" if reason else f"{code}: {message}")
        self.code = code
        self.reason = reason
        self.message = message


class KubeNotFound(KubeStatusError):
    """404: the object (or the pod / resource type) does not exist."""


class KubeExpired(KubeStatusError):
    """410 Gone: the requested resourceVersion is older than the server's history."""


def status_error(code: int, reason: str = "", message: str = "") -> KubeStatusError:
    """The `KubeStatusError` subclass for an HTTP / Status code."""
    cls: type[KubeStatusError] = KubeStatusError
    if code == 404:
        cls = KubeNotFound
    elif code == 410:
        cls = KubeExpired
    return cls(code, reason, message)


def status_from_body(code: int, body: Any) -> KubeStatusError:
    """A `KubeStatusError` from a decoded Status object (or anything else the server sent)."""
    if isinstance(body, dict):
        raw_code = body.get("code")
        return status_error(
            raw_code if isinstance(raw_code, int) and raw_code else code,
            str(body.get("reason") or ""),
            str(body.get("message") or ""),
        )
    return status_error(code, "", "unexpected response from the apiserver")


def translate(exc: BaseException) -> KubeError:
    """Map a lightkube / httpx2 / OS error to our tree (unknown ones become connection errors)."""
    if isinstance(exc, KubeError):
        return exc
    if isinstance(exc, ApiError):
        status = exc.status
        return status_error(int(status.code or 0), status.reason or "", status.message or "")
    if isinstance(exc, httpx2.HTTPStatusError):
        return status_error(exc.response.status_code, exc.response.reason_phrase, "")
    if isinstance(exc, httpx2.TimeoutException):
        return KubeConnectionError(f"timeout talking to the apiserver ({type(exc).__name__})")
    if isinstance(exc, httpx2.HTTPError | OSError):
        detail = str(exc) or type(exc).__name__
        return KubeConnectionError(f"apiserver connection failed: {detail}")
    return KubeConnectionError(f"apiserver request failed: {type(exc).__name__}")
