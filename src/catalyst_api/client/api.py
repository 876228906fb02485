"""A small, typed, synchronous HTTP client for the deployments API.

Every request has an explicit `httpx.Timeout`; the SSE stream gets a longer read timeout (the
server sends `: ping` every 15 s, so a silent connection longer than that is dead). httpx errors
are translated here, at the edge, into the `ClientError` tree; nothing above imports httpx.

    ClientError            base of everything the client raises
    ├── ApiError           the server answered with a non-2xx status (status + its error body)
    ├── Unreachable        no answer: connect error, timeout, connection reset
    └── StreamInterrupted  an open SSE stream broke before `event: done`
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any, cast
from urllib.parse import quote

import httpx
from pydantic import SecretStr

from .. import __version__
from ..wire.shapes import (
    CreateResponse,
    DeploymentState,
    DestroyResponse,
    EventsResponse,
    ListPage,
    PlanResponse,
    RetryResponse,
)

__all__ = [
    "DEFAULT_API_URL",
    "ApiClient",
    "ApiError",
    "ClientError",
    "StreamInterrupted",
    "Unreachable",
]

DEFAULT_API_URL = "http://127.0.0.1:8080"
_PREFIX = "/api/v1/deployments"


class ClientError(Exception):
    """Base of every error the client raises."""


class ApiError(ClientError):
    """A non-2xx answer; `message` is the server's `error`/`detail` or its text body."""

    def __init__(self, status: int, message: str, *, code: str = "") -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.code = code
        self.message = message


class Unreachable(ClientError):
    """The server did not answer (connection refused, timeout, reset)."""


class StreamInterrupted(ClientError):
    """The SSE connection broke while reading."""


def _api_error(response: httpx.Response) -> ApiError:
    """Build an `ApiError` from a (fully read) error response."""
    text = response.text.strip()
    code = ""
    message = ""
    if "json" in response.headers.get("content-type", ""):
        try:
            data: Any = json.loads(text)
        except ValueError:
            data = None
        if isinstance(data, dict):
            code = str(data.get("error") or "")
            detail = str(data.get("detail") or "")
            message = ": ".join(part for part in (code, detail) if part)
    return ApiError(response.status_code, message or text or response.reason_phrase, code=code)


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        data: Any = response.json()
    except ValueError:
        raise ClientError(
            f"unexpected non-JSON answer from {response.request.url}: {response.text[:200]!r}"
        ) from None
    if not isinstance(data, dict):
        raise ClientError(f"unexpected JSON answer from {response.request.url}: {data!r:.200}")
    return data


def _path(deployment_id: str, *rest: str) -> str:
    parts = [_PREFIX, quote(deployment_id, safe=""), *(quote(p, safe="") for p in rest)]
    return "/".join(parts)


def _token_body(token: SecretStr | None) -> bytes:
    if token is None:
        return b""
    return json.dumps({"hetznerToken": token.get_secret_value()}).encode()


class ApiClient:
    """Deployments API at `base_url`. Use as a context manager (closes the connection pool).

    `timeout` bounds every ordinary request (seconds); `stream_read_timeout` is the longest
    silence tolerated on the SSE stream before it counts as broken; `token` (non-empty) is
    sent as `Authorization: Bearer` on every request (`CATALYST_AUTH_MODE=required`).
    """

    def __init__(
        self,
        base_url: str = DEFAULT_API_URL,
        *,
        timeout: float = 30.0,
        stream_read_timeout: float = 45.0,
        transport: httpx.BaseTransport | None = None,
        token: str = "",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {"User-Agent": f"catalyst-api-cli/{__version__}"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._timeout = httpx.Timeout(timeout, connect=min(timeout, 10.0))
        self._stream_timeout = httpx.Timeout(
            timeout, connect=min(timeout, 10.0), read=max(stream_read_timeout, timeout)
        )
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=self._timeout,
            transport=transport,
            headers=headers,
        )

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def absolute(self, path: str) -> str:
        """`path` (e.g. a `streamURL`) as an absolute URL on this server."""
        return self.base_url + path if path.startswith("/") else path

    # --- plumbing ------------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        headers = {"Content-Type": "application/json"} if content else None
        try:
            response = self._http.request(
                method, path, params=params, content=content, headers=headers
            )
        except httpx.TransportError as exc:
            raise Unreachable(f"cannot reach catalyst-api at {self.base_url}: {exc}") from None
        if response.status_code >= 400:
            raise _api_error(response)
        return response

    # --- endpoints -----------------------------------------------------------------------------

    def create(self, body: bytes) -> CreateResponse:
        """`POST /api/v1/deployments` with a JSON body; the server validates it."""
        return cast(CreateResponse, _json_object(self._request("POST", _PREFIX, content=body)))

    def plan(self, body: bytes) -> PlanResponse:
        """`POST /api/v1/deployments/plan`: the create body's plan and cost estimate."""
        return cast(
            PlanResponse, _json_object(self._request("POST", f"{_PREFIX}/plan", content=body))
        )

    def list_page(
        self, *, status: str | None = None, limit: int | None = None, cursor: str | None = None
    ) -> ListPage:
        """One page of `GET /api/v1/deployments` (newest first)."""
        params: dict[str, str] = {}
        if status:
            params["status"] = status
        if limit is not None:
            params["limit"] = str(limit)
        if cursor:
            params["cursor"] = cursor
        return cast(ListPage, _json_object(self._request("GET", _PREFIX, params=params)))

    def list_all(
        self, *, status: str | None = None, limit: int | None = None
    ) -> Iterator[DeploymentState]:
        """Every deployment, following `nextCursor` page by page."""
        cursor: str | None = None
        while True:
            page = self.list_page(status=status, limit=limit, cursor=cursor)
            yield from page.get("deployments", [])
            cursor = page.get("nextCursor")
            if not cursor:
                return

    def get(self, deployment_id: str) -> DeploymentState:
        """`GET /api/v1/deployments/{id}`."""
        return cast(DeploymentState, _json_object(self._request("GET", _path(deployment_id))))

    def events(self, deployment_id: str) -> EventsResponse:
        """`GET /api/v1/deployments/{id}/events`: state, buffered events, `done`."""
        response = self._request("GET", _path(deployment_id, "events"))
        return cast(EventsResponse, _json_object(response))

    def kubeconfig(self, deployment_id: str) -> bytes:
        """`GET /api/v1/deployments/{id}/kubeconfig`: the file bytes, verbatim."""
        return self._request("GET", _path(deployment_id, "kubeconfig")).content

    def retry(
        self, deployment_id: str, phase: str, *, hetzner_token: SecretStr | None = None
    ) -> RetryResponse:
        """`POST .../phases/{phase}/retry`, with `{"hetznerToken"}` when a token is given."""
        path = _path(deployment_id, "phases", phase, "retry")
        response = self._request("POST", path, content=_token_body(hetzner_token))
        return cast(RetryResponse, _json_object(response))

    def destroy(
        self, deployment_id: str, *, hetzner_token: SecretStr | None = None
    ) -> DestroyResponse:
        """`DELETE /api/v1/deployments/{id}` → 202; the destroy runs in the background."""
        response = self._request("DELETE", _path(deployment_id), content=_token_body(hetzner_token))
        return cast(DestroyResponse, _json_object(response))

    @contextmanager
    def log_lines(self, deployment_id: str, *, last_event_id: int = 0) -> Iterator[Iterator[str]]:
        """Open `GET .../logs` (SSE) and yield an iterator over its lines.

        `last_event_id > 0` is sent as `Last-Event-ID` so the server resumes after it. Raises
        `ApiError` for an error status, `Unreachable` if the connection cannot be opened;
        iterating raises `StreamInterrupted` if the connection breaks.
        """
        headers = {"Accept": "text/event-stream"}
        if last_event_id > 0:
            headers["Last-Event-ID"] = str(last_event_id)
        request = self._http.build_request(
            "GET", _path(deployment_id, "logs"), headers=headers, timeout=self._stream_timeout
        )
        try:
            response = self._http.send(request, stream=True)
        except httpx.TransportError as exc:
            raise Unreachable(f"cannot reach catalyst-api at {self.base_url}: {exc}") from None
        try:
            if response.status_code >= 400:
                try:
                    response.read()
                except httpx.TransportError as exc:
                    raise StreamInterrupted(str(exc)) from None
                raise _api_error(response)
            yield _guarded_lines(response)
        finally:
            response.close()


def _guarded_lines(response: httpx.Response) -> Iterator[str]:
    try:
        yield from response.iter_lines()
    except httpx.TransportError as exc:
        raise StreamInterrupted(f"{type(exc).__name__}: {exc}") from None
