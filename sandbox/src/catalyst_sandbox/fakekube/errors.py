"""Errors of the fake kube-apiserver, rendered as `kind: Status` bodies like the real one."""

from __future__ import annotations

from typing import Any

__all__ = [
    "KubeApiError",
    "already_exists",
    "bad_request",
    "conflict",
    "expired",
    "invalid",
    "not_found",
    "status_body",
]


def status_body(
    code: int, reason: str, message: str, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A `v1 Status` failure object as the apiserver sends it."""
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details:
        body["details"] = details
    return body


class KubeApiError(Exception):
    """A failure the fake answers with a Status object (also raised by the Python state API)."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.headers = headers or {}

    def status(self) -> dict[str, Any]:
        """The Status body for this error."""
        return status_body(self.code, self.reason, self.message, self.details)


def _qualified(plural: str, group: str) -> str:
    return f"{plural}.{group}" if group else plural


def _details(plural: str, group: str, name: str) -> dict[str, Any]:
    details: dict[str, Any] = {"name": name, "kind": plural}
    if group:
        details["group"] = group
    return details


def not_found(plural: str, group: str, name: str) -> KubeApiError:
    """404 NotFound for `<plural>.<group> "<name>"`."""
    return KubeApiError(
        404,
        "NotFound",
        f'{_qualified(plural, group)} "{name}" not found',
        _details(plural, group, name),
    )


def already_exists(plural: str, group: str, name: str) -> KubeApiError:
    """409 AlreadyExists."""
    return KubeApiError(
        409,
        "AlreadyExists",
        f'{_qualified(plural, group)} "{name}" already exists',
        _details(plural, group, name),
    )


def conflict(plural: str, group: str, name: str) -> KubeApiError:
    """409 Conflict for an update carrying a stale resourceVersion."""
    return KubeApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {_qualified(plural, group)} "{name}": the object has '
        "been modified; please apply your changes to the latest version and try again",
        _details(plural, group, name),
    )


def invalid(kind: str, group: str, name: str, field: str, detail: str) -> KubeApiError:
    """422 Invalid with one field cause."""
    details: dict[str, Any] = {
        "name": name,
        "kind": kind,
        "causes": [{"reason": "FieldValueRequired", "message": detail, "field": field}],
    }
    if group:
        details["group"] = group
    return KubeApiError(
        422,
        "Invalid",
        f'{kind}{"." + group if group else ""} "{name}" is invalid: {field}: {detail}',
        details,
    )


def bad_request(message: str) -> KubeApiError:
    """400 BadRequest."""
    return KubeApiError(400, "BadRequest", message)


def expired(message: str) -> KubeApiError:
    """410 Expired (resourceVersion or continue token older than the retained history)."""
    return KubeApiError(410, "Expired", message)
