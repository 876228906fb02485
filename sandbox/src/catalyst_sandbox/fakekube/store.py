"""The object store core: typed CRUD, one global resourceVersion counter, bounded history.

Everything runs under one re-entrant lock, so any thread may write; each committed change is
handed to every watch subscription through its own loop (`call_soon_threadsafe`) while the lock
is held, which keeps delivery in resourceVersion order. Stored dicts are never mutated after
commit; callers get copies.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

from .admission import crd_types, now_rfc3339
from .changelog import ChangeLog
from .errors import KubeApiError, already_exists, conflict, invalid, not_found
from .listing import ListPage, decode_continue, object_key, paginate
from .objects import clone, merge_update, prepare_create
from .podlogs import PodLogs
from .resources import ResourceRegistry, ResourceType, TypeKey
from .selectors import Selector
from .subscriptions import EventRecord, Subscription

__all__ = ["ObjectStore"]

Obj = dict[str, Any]
_CRD_KEY = ("apiextensions.k8s.io", "customresourcedefinitions")
_NS_KEY = ("", "namespaces")


class ObjectStore:
    """Typed operations the HTTP layer and the Python API share."""

    def __init__(self, history_limit: int = 1000) -> None:
        self._lock = threading.RLock()
        self.registry = ResourceRegistry()
        self._objects: dict[TypeKey, dict[str, Obj]] = {}
        self._rv = 0
        self._changes = ChangeLog(history_limit)
        self.logs = PodLogs(self._lock)

    # ---------------------------------------------------------------- helpers
    @property
    def resource_version(self) -> int:
        """The latest committed resourceVersion."""
        with self._lock:
            return self._rv

    def lookup(self, group: str, version: str, plural: str) -> ResourceType | None:
        """The type served at that group/version/plural, if any."""
        with self._lock:
            return self.registry.by_resource(group, version, plural)

    def resolve(self, api_version: str, kind: str) -> ResourceType:
        """The type of `apiVersion`/`kind`, or 404 like the apiserver's RESTMapper."""
        with self._lock:
            rt = self.registry.by_kind(api_version, kind)
        if rt is None:
            raise KubeApiError(
                404, "NotFound", f'no matches for kind "{kind}" in version "{api_version}"'
            )
        return rt

    def types(self) -> list[ResourceType]:
        """Every served type."""
        with self._lock:
            return self.registry.types()

    def registry_group_versions(self) -> dict[str, list[str]]:
        """Named API groups → served versions, preferred first."""
        with self._lock:
            return self.registry.group_versions()

    @staticmethod
    def present(rt: ResourceType, obj: Obj) -> Obj:
        """A copy of a stored object as seen through `rt`'s version."""
        out: Obj = {"apiVersion": rt.api_version, "kind": rt.kind}
        out.update({k: v for k, v in clone(obj).items() if k not in ("apiVersion", "kind")})
        return out

    def _bucket(self, rt: ResourceType) -> dict[str, Obj]:
        return self._objects.setdefault(rt.key, {})

    def _current(self, rt: ResourceType, namespace: str, name: str) -> Obj:
        obj = self._bucket(rt).get(object_key(namespace if rt.namespaced else "", name))
        if obj is None:
            raise not_found(rt.plural, rt.group, name)
        return obj

    def _commit(self, rt: ResourceType, etype: str, obj: Obj, prev: Obj | None) -> Obj:
        self._rv += 1
        meta = dict(obj.get("metadata") or {})
        meta["resourceVersion"] = str(self._rv)
        obj = {**obj, "metadata": meta}
        key = object_key(meta.get("namespace", ""), meta["name"])
        if etype == "DELETED":
            self._bucket(rt).pop(key, None)
        else:
            self._bucket(rt)[key] = obj
        self._changes.record(EventRecord(self._rv, etype, rt.key, obj, prev))
        return obj

    # ---------------------------------------------------------------- writes
    def create_typed(
        self,
        rt: ResourceType,
        obj: Obj,
        namespace: str | None = None,
        *,
        dry_run: bool = False,
        keep_status: bool = False,
    ) -> Obj:
        """Create `obj`; assigns uid, creationTimestamp, a resourceVersion (and generation 1 for
        the types that have one)."""
        obj, ns, name = prepare_create(rt, obj, namespace, keep_status)
        meta = obj["metadata"]
        with self._lock:
            if ns and ns not in self._objects.get(_NS_KEY, {}):
                raise not_found("namespaces", "", ns)
            if object_key(ns, name) in self._bucket(rt):
                raise already_exists(rt.plural, rt.group, name)
            meta.update(uid=str(uuid.uuid4()), creationTimestamp=now_rfc3339())
            if rt.has_generation:
                meta["generation"] = 1
            if rt.key == _CRD_KEY and not dry_run:
                for served in crd_types(obj):
                    self.registry.add(served)
            if dry_run:
                return self.present(rt, {**obj, "metadata": {**meta, "resourceVersion": ""}})
            return self.present(rt, self._commit(rt, "ADDED", obj, None))

    def _rewrite(
        self, rt: ResourceType, current: Obj, new: Obj, subresource: str | None, dry_run: bool
    ) -> Obj:
        """Commit `new` over `current` with main-resource/status-subresource semantics."""
        merged = merge_update(rt, current, new, subresource)
        if merged == current:
            return self.present(rt, current)  # no-op writes keep their resourceVersion
        if rt.key == _CRD_KEY and not dry_run:
            crd_types(merged)
            spec = current["spec"]
            self.registry.remove_group_resource(spec["group"], spec["names"]["plural"])
            for served in crd_types(merged):
                self.registry.add(served)
        if dry_run:
            return self.present(rt, merged)
        return self.present(rt, self._commit(rt, "MODIFIED", merged, current))

    def replace_typed(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        obj: Obj,
        *,
        subresource: str | None = None,
        require_rv: bool = False,
        dry_run: bool = False,
    ) -> Obj:
        """PUT semantics: full replace, optimistic concurrency on `metadata.resourceVersion`."""
        obj = clone(obj)
        meta = obj.get("metadata") or {}
        if meta.get("name") not in (None, name):
            raise KubeApiError(
                400,
                "BadRequest",
                "the name of the object "
                f"({meta.get('name')}) does not match the name on the URL ({name})",
            )
        with self._lock:
            current = self._current(rt, namespace, name)
            rv = meta.get("resourceVersion")
            if not rv and require_rv:
                raise invalid(
                    rt.kind,
                    rt.group,
                    name,
                    "metadata.resourceVersion",
                    "Invalid value: 0x0: must be specified for an update",
                )
            if rv and rv != current["metadata"]["resourceVersion"]:
                raise conflict(rt.plural, rt.group, name)
            return self._rewrite(rt, current, obj, subresource, dry_run)

    def patch_typed(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        apply: Callable[[Obj], Obj],
        *,
        subresource: str | None = None,
        upsert: bool = False,
        dry_run: bool = False,
    ) -> tuple[Obj, bool]:
        """Patch atomically: `apply(current copy)` → new object. Returns (object, created)."""
        with self._lock:
            try:
                current = self._current(rt, namespace, name)
            except KubeApiError:
                if not upsert:
                    raise
                fresh = apply(
                    {"apiVersion": rt.api_version, "kind": rt.kind, "metadata": {"name": name}}
                )
                created = self.create_typed(rt, fresh, namespace or None, dry_run=dry_run)
                return created, True
            new = apply(self.present(rt, current))
            want_rv = (new.get("metadata") or {}).get("resourceVersion")
            if want_rv and want_rv != current["metadata"]["resourceVersion"]:
                raise conflict(rt.plural, rt.group, name)
            return self._rewrite(rt, current, new, subresource, dry_run), False

    def delete_typed(
        self, rt: ResourceType, namespace: str, name: str, *, dry_run: bool = False
    ) -> Obj:
        """Delete now (no finalizers/grace period); cascades for namespaces and CRDs."""
        with self._lock:
            current = self._current(rt, namespace, name)
            if dry_run:
                return self.present(rt, current)
            if rt.key == _NS_KEY:
                for key, bucket in list(self._objects.items()):
                    for obj in list(bucket.values()):
                        if obj["metadata"].get("namespace") == name:
                            inner = self._type_of(key)
                            self._delete_one(inner, obj)
            elif rt.key == _CRD_KEY:
                spec = current["spec"]
                group, plural = spec["group"], spec["names"]["plural"]
                served = self.registry.by_resource(group, spec["versions"][0]["name"], plural)
                for obj in list(self._objects.get((group, plural), {}).values()):
                    if served is not None:
                        self._delete_one(served, obj)
                self.registry.remove_group_resource(group, plural)
            return self.present(rt, self._delete_one(rt, current))

    def _type_of(self, key: TypeKey) -> ResourceType:
        return next(t for t in self.registry.types() if t.key == key)

    def _delete_one(self, rt: ResourceType, obj: Obj) -> Obj:
        if rt.key == ("", "pods"):
            meta = obj["metadata"]
            self.logs.forget(meta["namespace"], meta["name"])
        return self._commit(rt, "DELETED", obj, obj)

    # ---------------------------------------------------------------- reads
    def get_typed(self, rt: ResourceType, namespace: str, name: str) -> Obj:
        """The object, or 404."""
        with self._lock:
            return self.present(rt, self._current(rt, namespace, name))

    def _objects_at(self, rt: ResourceType, rv: int) -> dict[str, Obj]:
        """The type's objects as they were at `rv` (410 if history no longer reaches back)."""
        if rv >= self._rv:
            return dict(self._bucket(rt))
        return self._changes.rewind(self._bucket(rt), rt.key, rv)

    def list_typed(
        self,
        rt: ResourceType,
        selector: Selector,
        *,
        limit: int = 0,
        continue_token: str | None = None,
        resource_version: str | None = None,
        exact: bool = False,
    ) -> ListPage:
        """A consistent page of matching objects (snapshot at the first page's version)."""
        with self._lock:
            start_after = None
            snapshot = self._rv
            if continue_token:
                snapshot, start_after = decode_continue(continue_token)
            elif exact and resource_version:
                snapshot = _parse_rv(resource_version)
            objects = self._objects_at(rt, snapshot)
            keyed = sorted((k, o) for k, o in objects.items() if selector.matches(o))
            page = paginate(keyed, snapshot, limit, start_after, selector.is_empty)
        return ListPage(
            [self.present(rt, o) for o in page.items],
            page.resource_version,
            page.continue_token,
            page.remaining,
        )

    # ---------------------------------------------------------------- watches
    def start_watch(
        self, rt: ResourceType, sub: Subscription, resource_version: str | None, initial: bool
    ) -> tuple[list[EventRecord], int]:
        """Subscribe; returns (events to send first, the resourceVersion they lead up to).

        With `initial`, the first events are synthetic ADDED for every current object;
        otherwise they are the retained history after `resource_version` (410 if evicted).
        """
        with self._lock:
            if initial:
                first = [
                    EventRecord(int(o["metadata"]["resourceVersion"]), "ADDED", rt.key, o, None)
                    for _, o in sorted(self._bucket(rt).items())
                ]
            else:
                first = self._changes.since(_parse_rv(resource_version or "0"), rt.key)
            self._changes.subscribe(sub)
            return first, self._rv

    def stop_watch(self, sub: Subscription) -> None:
        """Unsubscribe."""
        with self._lock:
            self._changes.unsubscribe(sub)

    def open_watches(self) -> int:
        """How many watches are subscribed now (tests wait on it instead of sleeping)."""
        with self._lock:
            return self._changes.subscriber_count()

    def drop_watches(self, abort: bool = False) -> int:
        """End every open watch now (cleanly, or by cutting the connection). Returns the count."""
        with self._lock:
            return self._changes.drop_all(abort)

    def close_streams(self) -> None:
        """Server shutdown: end every watch and log stream."""
        self.drop_watches()
        self.logs.close_all()


def _parse_rv(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise KubeApiError(
            400, "BadRequest", f'invalid resource version "{value}": must be an integer'
        ) from None
