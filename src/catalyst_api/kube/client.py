"""`KubeClient`: one cluster's lightkube `AsyncClient`, built from kubeconfig bytes.

Usage: `async with KubeClient.from_kubeconfig(data) as kube: await kube.list(...)`.

- Building never touches the network; a kubeconfig that cannot describe a cluster raises
  `KubeConfigError` with a message that is safe to show (never a snippet of the file).
- Only embedded credentials are accepted (`token`, `client-certificate-data`, basic auth): a
  postback kubeconfig naming local files (`tokenFile`, `client-certificate`, …) or an `exec`
  plugin would make catalyst-api read its own files or run commands, so it is refused.
- TLS verification follows the kubeconfig (`certificate-authority-data`,
  `insecure-skip-tls-verify`), as kubectl does.
- Streams (watch, log follow) are single requests: they end when the server ends them, and a
  watch that stays silent longer than `inactivity` raises `KubeConnectionError`. lightkube's
  own watch helper neither asks for bookmarks nor tells where one request ends, so those two
  use lightkube's request builder and transport directly (`_stream`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncGenerator
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx2
import orjson
import yaml
from lightkube import AsyncClient, KubeConfig
from lightkube.core.exceptions import ConfigError
from lightkube.generic_resource import create_global_resource, create_namespaced_resource
from lightkube.models.authorization_v1 import ResourceAttributes, SubjectAccessReviewSpec
from lightkube.resources.authorization_v1 import SubjectAccessReview
from lightkube.resources.core_v1 import Pod, PodLog
from lightkube.types import CascadeType, PatchType

from .errors import KubeConfigError, KubeConnectionError, status_from_body, translate
from .resources import ObjectList, PodInfo, ResourceRef, WatchEvent

__all__ = ["KubeClient"]

Obj = dict[str, Any]
_FILE_FIELDS = {
    "tokenFile": "user",
    "client-certificate": "user",
    "client-key": "user",
    "certificate-authority": "cluster",
}


def _parse_kubeconfig(data: bytes) -> Obj:
    """The kubeconfig as a dict, checked for what we refuse; errors never quote the file."""
    if not data.strip():
        raise KubeConfigError("kubeconfig is empty")
    try:
        doc = yaml.safe_load(data)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise KubeConfigError(f"kubeconfig is not valid YAML{where}") from None
    except (yaml.YAMLError, UnicodeDecodeError):
        raise KubeConfigError("kubeconfig is not valid YAML") from None
    if not isinstance(doc, dict):
        raise KubeConfigError("kubeconfig is not a YAML mapping")
    for section in ("clusters", "contexts"):
        if not isinstance(doc.get(section), list) or not doc[section]:
            raise KubeConfigError(f"kubeconfig has no {section!r} entries")
    for entry in doc["clusters"]:
        cluster = entry.get("cluster") if isinstance(entry, dict) else None
        if not isinstance(cluster, dict) or not cluster.get("server"):
            raise KubeConfigError("kubeconfig cluster entry has no server URL")
    for kind in ("users", "clusters"):
        for entry in doc.get(kind) or []:
            body = entry.get(kind[:-1]) if isinstance(entry, dict) else None
            if not isinstance(body, dict):
                continue
            if "exec" in body or "auth-provider" in body:
                raise KubeConfigError(
                    "kubeconfig user relies on an exec/auth-provider plugin; only embedded "
                    "credentials are accepted"
                )
            for key in _FILE_FIELDS:
                if body.get(key):
                    raise KubeConfigError(
                        f"kubeconfig refers to a local file ({key}); only embedded "
                        "credentials (*-data, token) are accepted"
                    )
    return doc


@functools.cache
def _resource_class(ref: ResourceRef) -> Any:
    """lightkube's class for `ref`, built once (lightkube refuses to register a core-group
    generic resource twice)."""
    factory = create_namespaced_resource if ref.namespaced else create_global_resource
    return factory(ref.group, ref.version, ref.kind, ref.plural)


class KubeClient:
    """An open connection pool to one cluster; close it with `aclose()` / `async with`."""

    def __init__(self, api: AsyncClient, *, request_timeout: float) -> None:
        self._api = api
        self._timeout = request_timeout
        self._closed = False

    @classmethod
    def from_kubeconfig(
        cls, data: bytes, *, request_timeout: float = 10.0, trust_env: bool = True
    ) -> Self:
        """Build a client for the kubeconfig's current context (no I/O to the cluster).

        `trust_env` honours proxy variables like client-go does. Raises `KubeConfigError`.
        """
        doc = _parse_kubeconfig(data)
        try:
            config = KubeConfig.from_dict(doc)
            api = AsyncClient(config, timeout=httpx2.Timeout(request_timeout), trust_env=trust_env)
        except ConfigError as exc:
            raise KubeConfigError(f"kubeconfig: {exc}") from None
        except (KeyError, TypeError, ValueError) as exc:
            what = f"missing {exc}" if isinstance(exc, KeyError) else type(exc).__name__
            raise KubeConfigError(f"kubeconfig is malformed ({what})") from None
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise KubeConfigError(f"kubeconfig TLS material unusable: {reason}") from None
        return cls(api, request_timeout=request_timeout)

    @classmethod
    def in_cluster(
        cls, *, request_timeout: float = 10.0, service_account_dir: Path | None = None
    ) -> KubeClient:
        """A client with the Pod's service account (token, CA and namespace from
        `service_account_dir`, default the mounted `/var/run/secrets/kubernetes.io/
        serviceaccount`; the apiserver from `KUBERNETES_SERVICE_HOST`/`_PORT`);
        `KubeConfigError` when not in a cluster."""
        try:
            if service_account_dir is None:
                config = KubeConfig.from_service_account()
            else:
                config = KubeConfig.from_service_account(service_account_dir)
            api = AsyncClient(config, timeout=httpx2.Timeout(request_timeout), trust_env=False)
        except (ConfigError, OSError, KeyError, ValueError):
            raise KubeConfigError("not running inside a cluster (no service account)") from None
        return cls(api, request_timeout=request_timeout)

    @property
    def server(self) -> str:
        """The apiserver URL of the current context."""
        return str(self._api.config.cluster.server)

    async def __aenter__(self) -> KubeClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool (idempotent)."""
        if not self._closed:
            self._closed = True
            await self._api.close()

    # --- reads ---------------------------------------------------------------------------------

    async def list_objects(
        self, ref: ResourceRef, *, namespace: str | None, labels: dict[str, str] | None = None
    ) -> ObjectList:
        """Every object (plain dicts) and the list's resourceVersion."""
        selector: dict[str, Any] | None = dict(labels) if labels else None
        try:
            it = self._api.list(_resource_class(ref), namespace=namespace, labels=selector)
            items = [dict(item) async for item in it]
            return ObjectList(items, str(it.resourceVersion))
        except (httpx2.HTTPError, OSError, ValueError) as exc:
            raise translate(exc) from None

    async def get_object(self, ref: ResourceRef, *, namespace: str | None, name: str) -> Obj:
        """One object as a plain dict; `KubeNotFound` when absent."""
        try:
            return dict(await self._api.get(_resource_class(ref), name=name, namespace=namespace))
        except (httpx2.HTTPError, OSError, ValueError) as exc:
            raise translate(exc) from None

    async def access_allowed(
        self, *, user: str, verb: str, group: str, resource: str, namespace: str
    ) -> bool:
        """Ask the apiserver (SubjectAccessReview) whether `user` may `verb` the resource in
        `namespace` ("" = cluster-scoped). Raises `KubeError` when it cannot answer."""
        spec = SubjectAccessReviewSpec(
            user=user,
            resourceAttributes=ResourceAttributes(
                verb=verb, group=group, resource=resource, namespace=namespace or None
            ),
        )
        try:
            review = await self._api.create(SubjectAccessReview(spec=spec))
        except (httpx2.HTTPError, OSError, ValueError) as exc:
            raise translate(exc) from None
        return bool(review.status and review.status.allowed)

    async def list_pods(self, *, namespace: str, labels: dict[str, str]) -> list[PodInfo]:
        """Pods matching `labels` in `namespace`, in the server's order."""
        selector: dict[str, Any] = dict(labels)
        try:
            pods = [p async for p in self._api.list(Pod, namespace=namespace, labels=selector)]
        except (httpx2.HTTPError, OSError, ValueError) as exc:
            raise translate(exc) from None
        out = []
        for pod in pods:
            meta, status = pod.metadata, pod.status
            out.append(
                PodInfo(
                    name=str(meta.name if meta else ""),
                    namespace=str(meta.namespace if meta and meta.namespace else namespace),
                    phase=str(status.phase if status and status.phase else ""),
                    labels=dict(meta.labels or {}) if meta else {},
                )
            )
        return out

    # --- writes --------------------------------------------------------------------------------

    async def create_object(self, ref: ResourceRef, obj: Obj) -> Obj:
        """Create `obj` (in its `metadata.namespace` for a namespaced `ref`); returns the
        stored object. `KubeStatusError` 409 when the name is taken."""
        try:
            return dict(await self._api.create(_resource_class(ref).from_dict(obj)))
        except (httpx2.HTTPError, OSError, ValueError) as exc:
            raise translate(exc) from None

    async def merge_patch_object(
        self, ref: ResourceRef, *, namespace: str | None, name: str, patch: Obj
    ) -> Obj:
        """JSON-merge-patch one object; returns it. `KubeNotFound` when absent."""
        try:
            patched = await self._api.patch(
                _resource_class(ref), name, patch, namespace=namespace, patch_type=PatchType.MERGE
            )
            return dict(patched)
        except (httpx2.HTTPError, OSError, ValueError) as exc:
            raise translate(exc) from None

    async def delete_object(
        self, ref: ResourceRef, *, namespace: str | None, name: str, foreground: bool = False
    ) -> None:
        """Delete one object (`propagationPolicy=Foreground` with `foreground`);
        `KubeNotFound` when absent."""
        cascade = CascadeType.FOREGROUND if foreground else None
        try:
            await self._api.delete(_resource_class(ref), name, namespace=namespace, cascade=cascade)
        except (httpx2.HTTPError, OSError, ValueError) as exc:
            raise translate(exc) from None

    # --- streams ---------------------------------------------------------------------------

    async def watch(
        self,
        ref: ResourceRef,
        *,
        namespace: str | None,
        resource_version: str,
        timeout_seconds: int,
        inactivity: float,
        bookmarks: bool = True,
    ) -> AsyncGenerator[WatchEvent, None]:
        """One watch request from `resource_version`; ends when the server ends it.

        Raises `KubeExpired` (410: list again), `KubeStatusError`, or `KubeConnectionError`
        (also when neither an event nor a bookmark arrives within `inactivity` seconds).
        """
        params: dict[str, Any] = {
            "resourceVersion": resource_version,
            "timeoutSeconds": max(int(timeout_seconds), 1),
        }
        if bookmarks:
            params["allowWatchBookmarks"] = "true"
        res = _resource_class(ref)
        lines = self._stream(
            "list", res, namespace=namespace, params=params, watch=True, inactivity=inactivity
        )
        async with contextlib.aclosing(lines):  # closing us closes the response now, not at GC
            async for line in lines:
                try:
                    raw = orjson.loads(line)
                    etype = str(raw["type"])
                    obj = raw["object"]
                except (orjson.JSONDecodeError, KeyError, TypeError):
                    raise KubeConnectionError("watch stream sent an undecodable event") from None
                if etype == "ERROR":
                    raise status_from_body(500, obj)
                meta = obj.get("metadata") if isinstance(obj, dict) else None
                rv = str(meta.get("resourceVersion") or "") if isinstance(meta, dict) else ""
                yield WatchEvent(etype, obj, rv)

    async def follow_log(
        self, pod: str, *, namespace: str, tail_lines: int = 0, container: str | None = None
    ) -> AsyncGenerator[str, None]:
        """Follow a pod's log from `tail_lines` back (0 = only new lines), line by line
        without the newline; ends when the server ends the stream."""
        params: dict[str, Any] = {"follow": "true", "tailLines": tail_lines}
        if container:
            params["container"] = container
        lines = self._stream(
            "get", PodLog, name=pod, namespace=namespace, params=params, inactivity=None
        )
        async with contextlib.aclosing(lines):
            async for line in lines:
                yield line.decode("utf-8", "replace")

    async def _stream(
        self,
        method: str,
        res: Any,
        *,
        namespace: str | None,
        params: dict[str, Any],
        inactivity: float | None,
        name: str | None = None,
        watch: bool = False,
    ) -> AsyncGenerator[bytes, None]:
        """The response body as non-empty lines (bytes, no line ending), split per network
        chunk so that one inactivity timer covers every line that chunk carried."""
        generic: Any = self._api._client  # lightkube's request builder + transport (see docstring)
        try:
            request = generic.prepare_request(
                method, res=res, name=name, namespace=namespace, watch=watch, params=params
            )
            request.timeout = httpx2.Timeout(self._timeout, read=None)
            response = await generic.send(generic.build_adapter_request(request), stream=True)
        except (httpx2.HTTPError, OSError) as exc:
            raise translate(exc) from None
        try:
            if response.status_code >= 400:
                body = await response.aread()
                try:
                    decoded: Any = orjson.loads(body)
                except orjson.JSONDecodeError:
                    decoded = None
                raise status_from_body(response.status_code, decoded)
            chunks = response.aiter_bytes()
            pending: list[bytes] = []
            while True:
                try:
                    async with asyncio.timeout(inactivity):
                        chunk = await anext(chunks)
                except StopAsyncIteration:
                    break
                except TimeoutError:
                    raise KubeConnectionError(
                        f"stream silent for {inactivity:g}s (no event or bookmark)"
                    ) from None
                except (httpx2.HTTPError, OSError) as exc:
                    raise translate(exc) from None
                for line in _split_lines(chunk, pending):
                    yield line
            if pending and (tail := b"".join(pending).rstrip(b"\r")):
                yield tail
        finally:
            await response.aclose()


def _split_lines(chunk: bytes, pending: list[bytes]) -> list[bytes]:
    """Complete non-blank lines of `chunk`, joined with the unfinished line kept in `pending`
    (which keeps the new unfinished tail)."""
    out: list[bytes] = []
    start = 0
    while True:
        end = chunk.find(b"\n", start)
        if end < 0:
            if start < len(chunk):
                pending.append(chunk[start:])
            return out
        piece = chunk[start:end]
        if pending:
            pending.append(piece)
            piece = b"".join(pending)
            pending.clear()
        piece = piece.rstrip(b"\r")
        if piece.strip():
            out.append(piece)
        start = end + 1
