"""Resource endpoints: get, list, watch, create, update, patch, delete (+ status, log)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
import yaml
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from .errors import KubeApiError, bad_request
from .logstream import pod_log_response
from .patching import patch_function
from .protobuf import PROTOBUF, decode_protobuf_object
from .resources import ResourceType
from .routing import ResourcePath
from .sar import SarPolicy, review_response
from .selectors import FieldSelector, LabelSelector, Selector
from .state import FakeKubeState
from .tables import table, wants_table
from .watch import WatchOptions, watch_events

__all__ = ["Handlers", "json_response"]

Obj = dict[str, Any]
_TRUE = ("1", "t", "true")
_DEFAULT_WATCH_TIMEOUT = 1800.0


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response encoded with orjson."""
    return Response(orjson.dumps(body), status, headers, media_type="application/json")


def _method_not_allowed() -> KubeApiError:
    return KubeApiError(
        405, "MethodNotAllowed", "the server does not allow this method on the requested resource"
    )


def _not_found_path() -> KubeApiError:
    return KubeApiError(404, "NotFound", "the server could not find the requested resource", {})


async def _body(request: Request, yaml_ok: bool = False) -> Any:
    raw = await request.body()
    if request.headers.get("content-type", "").startswith(PROTOBUF):
        return decode_protobuf_object(raw)
    try:
        if yaml_ok:
            return yaml.safe_load(raw)
        return orjson.loads(raw)
    except (orjson.JSONDecodeError, yaml.YAMLError) as exc:
        raise bad_request(f"the body of the request was in an unknown format: {exc}") from None


def _obj_body(data: Any, rt: ResourceType) -> Obj:
    if not isinstance(data, dict):
        raise bad_request("the body of the request must be an object")
    api_version, kind = data.get("apiVersion"), data.get("kind")
    if kind not in (None, "", rt.kind) or (
        api_version
        and api_version.split("/")[0] != (rt.group or "v1")
        and api_version != rt.api_version
    ):
        raise bad_request(
            f"the API version in the data ({api_version}) does not match the "
            f"expected API version ({rt.api_version})"
        )
    return data


@dataclass
class Handlers:
    """Endpoint logic bound to one fake cluster."""

    state: FakeKubeState
    sar_policy: SarPolicy | None
    bookmark_interval: float

    async def handle(self, request: Request, rp: ResourcePath) -> Response:
        """Dispatch one request on a resource path."""
        rt = self.state.lookup(rp.group, rp.version, rp.plural)
        if rt is None or (rp.namespace is not None and not rt.namespaced):
            raise _not_found_path()
        if rp.subresource and rp.subresource not in rt.all_subresources():
            raise _not_found_path()
        if rp.subresource == "log" and request.method != "GET":
            raise _method_not_allowed()
        if rt.key == ("authorization.k8s.io", "subjectaccessreviews"):
            return await self._sar(request, rt, rp)
        ns = rp.namespace or ""
        params = request.query_params
        method = request.method
        dry_run = params.get("dryRun") == "All"
        watch = rp.legacy_watch or params.get("watch", "").lower() in _TRUE
        if watch and "watch" not in rt.verbs:
            raise _method_not_allowed()
        if rp.subresource == "scale" and rp.name is not None and rp.namespace is not None:
            return await self._scale(request, rt, rp, dry_run)
        if rp.name is None:
            if method == "GET":
                return self._watch(request, rt, rp) if watch else self._list(request, rt, rp)
            if method == "POST":
                created = self.state.create_typed(
                    rt, _obj_body(await _body(request), rt), rp.namespace, dry_run=dry_run
                )
                return json_response(created, 201)
            if method == "DELETE":
                return self._delete_collection(request, rt, rp)
        elif rt.namespaced and rp.namespace is None:
            raise _not_found_path()
        elif method == "GET" and rp.subresource == "log":
            return await pod_log_response(self.state, ns, rp.name, params)
        elif method == "GET":
            if watch:
                return self._watch(request, rt, rp, name=rp.name)
            return self._one(request, rt, self.state.get_typed(rt, ns, rp.name))
        elif method == "PUT":
            obj = self.state.replace_typed(
                rt,
                ns,
                rp.name,
                _obj_body(await _body(request), rt),
                subresource=rp.subresource,
                require_rv=rt.custom,
                dry_run=dry_run,
            )
            return json_response(obj)
        elif method == "PATCH":
            return await self._patch(request, rt, rp, dry_run)
        elif method == "DELETE":
            return await self._delete(request, rt, rp, dry_run)
        raise _method_not_allowed()

    # ---------------------------------------------------------------- reads
    def _selector(
        self, request: Request, rt: ResourceType, rp: ResourcePath, name: str | None = None
    ) -> Selector:
        params = request.query_params
        fields = params.get("fieldSelector") or ""
        if name:
            fields = ",".join(f for f in (fields, f"metadata.name={name}") if f)
        return Selector(
            LabelSelector.parse(params.get("labelSelector")),
            FieldSelector.parse(fields, rt.key),
            rp.namespace,
        )

    def _one(self, request: Request, rt: ResourceType, obj: Obj) -> Response:
        if wants_table(request.headers.get("accept", "")):
            include = request.query_params.get("includeObject", "Metadata")
            return json_response(
                table(rt, [obj], {"resourceVersion": obj["metadata"]["resourceVersion"]}, include)
            )
        return json_response(obj)

    def _list(self, request: Request, rt: ResourceType, rp: ResourcePath) -> Response:
        params = request.query_params
        try:
            limit = int(params.get("limit") or 0)
        except ValueError:
            raise bad_request("limit: invalid integer") from None
        page = self.state.list_typed(
            rt,
            self._selector(request, rt, rp),
            limit=limit,
            continue_token=params.get("continue") or None,
            resource_version=params.get("resourceVersion"),
            exact=params.get("resourceVersionMatch") == "Exact",
        )
        meta: Obj = {"resourceVersion": str(page.resource_version)}
        if page.continue_token:
            meta["continue"] = page.continue_token
        if page.remaining is not None:
            meta["remainingItemCount"] = page.remaining
        if wants_table(request.headers.get("accept", "")):
            include = params.get("includeObject", "Metadata")
            return json_response(table(rt, page.items, meta, include))
        return json_response(
            {
                "apiVersion": rt.api_version,
                "kind": rt.list_kind,
                "metadata": meta,
                "items": page.items,
            }
        )

    def _watch(
        self, request: Request, rt: ResourceType, rp: ResourcePath, name: str | None = None
    ) -> Response:
        params = request.query_params
        try:
            timeout = float(params.get("timeoutSeconds") or _DEFAULT_WATCH_TIMEOUT)
        except ValueError:
            raise bad_request("timeoutSeconds: invalid number") from None
        opts = WatchOptions(
            resource_version=params.get("resourceVersion"),
            timeout_seconds=timeout,
            bookmarks=params.get("allowWatchBookmarks", "").lower() in _TRUE,
            bookmark_interval=self.bookmark_interval,
            send_initial_events=params.get("sendInitialEvents", "").lower() in _TRUE,
        )
        render = _renderer(request, rt)
        events = watch_events(self.state, rt, self._selector(request, rt, rp, name), opts, render)
        media = "application/json"
        if wants_table(request.headers.get("accept", "")):
            media = "application/json;as=Table;v=v1;g=meta.k8s.io"
        return StreamingResponse(events, media_type=media)

    # ---------------------------------------------------------------- writes
    async def _patch(
        self, request: Request, rt: ResourceType, rp: ResourcePath, dry_run: bool
    ) -> Response:
        assert rp.name is not None
        ctype = request.headers.get("content-type", "").split(";")[0].strip()
        apply_patch = ctype == "application/apply-patch+yaml"
        body = await _body(request, yaml_ok=apply_patch)
        if apply_patch:
            if not request.query_params.get("fieldManager"):
                raise KubeApiError(
                    422,
                    "Invalid",
                    'PatchOptions.meta.k8s.io "" is invalid: '
                    "fieldManager: Required value: is required for apply patch",
                )
            body = _obj_body(body, rt)
        fn = patch_function(ctype, body, custom=rt.custom)
        obj, created = self.state.patch_typed(
            rt,
            rp.namespace or "",
            rp.name,
            fn,
            subresource=rp.subresource,
            upsert=apply_patch and rp.subresource is None,
            dry_run=dry_run,
        )
        return json_response(obj, 201 if created else 200)

    async def _scale(
        self, request: Request, rt: ResourceType, rp: ResourcePath, dry_run: bool
    ) -> Response:
        """`.../scale`: the object seen as an autoscaling/v1 Scale (spec.replicas only)."""
        assert rp.name is not None
        assert rp.namespace is not None
        if request.method == "GET":
            return json_response(to_scale(self.state.get_typed(rt, rp.namespace, rp.name)))
        if request.method == "PUT":
            body = await _body(request)
            if not isinstance(body, dict):
                raise bad_request("the body of the request must be an object")
            change: Callable[[Obj], Obj] = lambda _cur: body  # noqa: E731
        elif request.method == "PATCH":
            ctype = request.headers.get("content-type", "").split(";")[0].strip()
            if ctype == "application/apply-patch+yaml":
                raise KubeApiError(
                    415, "UnsupportedMediaType", "apply is not supported on the scale subresource"
                )
            change = patch_function(ctype, await _body(request), custom=False)
        else:
            raise _method_not_allowed()

        def apply(current: Obj) -> Obj:
            scale = change(to_scale(current))
            if not isinstance(scale, dict):
                raise bad_request("the body of the request must be an object")
            # Scale.spec.replicas is `omitempty`: clients send 0 as an absent (or null) field
            replicas = (scale.get("spec") or {}).get("replicas") or 0
            if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
                raise KubeApiError(
                    422,
                    "Invalid",
                    f'Scale.autoscaling "{rp.name}" is invalid: spec.replicas: Invalid value: '
                    f"{replicas!r}: must be greater than or equal to 0",
                )
            out = {**current, "spec": {**(current.get("spec") or {}), "replicas": replicas}}
            rv = (scale.get("metadata") or {}).get("resourceVersion")
            out["metadata"] = {**current["metadata"], "resourceVersion": rv}
            if not rv:
                out["metadata"].pop("resourceVersion")
            return out

        obj, _ = self.state.patch_typed(rt, rp.namespace, rp.name, apply, dry_run=dry_run)
        return json_response(to_scale(obj))

    async def _delete(
        self, request: Request, rt: ResourceType, rp: ResourcePath, dry_run: bool
    ) -> Response:
        assert rp.name is not None
        ns = rp.namespace or ""
        raw = await request.body()
        options = await _body(request) if raw.strip() else {}
        pre = (options if isinstance(options, dict) else {}).get("preconditions") or {}
        if pre:
            current = self.state.get_typed(rt, ns, rp.name)["metadata"]
            for field in ("uid", "resourceVersion"):
                if pre.get(field) and pre[field] != current.get(field):
                    raise KubeApiError(
                        409,
                        "Conflict",
                        f"Precondition failed: {field} in "
                        f"precondition: {pre[field]}, {field} in object meta: "
                        f"{current.get(field)}",
                    )
        obj = self.state.delete_typed(rt, ns, rp.name, dry_run=dry_run)
        if rt.custom or rt.key == ("", "pods"):
            return json_response(obj)
        details = {"name": rp.name, "kind": rt.plural, "uid": obj["metadata"].get("uid")}
        if rt.group:
            details["group"] = rt.group
        return json_response(
            {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Success",
                "details": details,
            }
        )

    def _delete_collection(self, request: Request, rt: ResourceType, rp: ResourcePath) -> Response:
        page = self.state.list_typed(rt, self._selector(request, rt, rp))
        for obj in page.items:
            meta = obj["metadata"]
            try:
                self.state.delete_typed(rt, meta.get("namespace", ""), meta["name"])
            except KubeApiError as exc:
                if exc.code != 404:
                    raise
        return json_response(
            {
                "apiVersion": rt.api_version,
                "kind": rt.list_kind,
                "metadata": {"resourceVersion": str(self.state.resource_version)},
                "items": page.items,
            }
        )

    async def _sar(self, request: Request, rt: ResourceType, rp: ResourcePath) -> Response:
        if request.method != "POST" or rp.name is not None:
            raise _method_not_allowed()
        review = _obj_body(await _body(request), rt)
        return json_response(review_response(self.sar_policy, review), 201)


def to_scale(obj: Obj) -> Obj:
    """An apps/v1 workload as its autoscaling/v1 `Scale` (what `kubectl scale` reads/writes)."""
    meta = obj["metadata"]
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    labels = ((spec.get("selector") or {}).get("matchLabels")) or {}
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            k: meta[k]
            for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if k in meta
        },
        "spec": {"replicas": spec.get("replicas", 1)},
        "status": {
            "replicas": status.get("replicas", 0),
            "selector": ",".join(f"{k}={v}" for k, v in sorted(labels.items())),
        },
    }


def _renderer(request: Request, rt: ResourceType) -> Callable[[str, Obj], Obj]:
    if not wants_table(request.headers.get("accept", "")):
        return lambda _etype, obj: obj
    include = request.query_params.get("includeObject", "Metadata")
    first = [True]

    def render(_etype: str, obj: Obj) -> Obj:
        headers, first[0] = first[0], False
        meta = {"resourceVersion": obj["metadata"].get("resourceVersion", "")}
        return table(rt, [obj], meta, include, headers=headers)

    return render
