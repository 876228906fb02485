"""`FakeKubeState`: the synchronous, thread-safe Python API over the fake's object store."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .admission import crd_object
from .errors import KubeApiError
from .patching import merge_patch
from .resources import ADDON_CRDS, ADDON_TYPES, FLUX_COLUMNS, FLUX_CRDS
from .selectors import FieldSelector, LabelSelector, Selector
from .store import ObjectStore

__all__ = ["DEFAULT_NAMESPACES", "FakeKubeState"]

DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease", "flux-system")
Obj = dict[str, Any]


class FakeKubeState(ObjectStore):
    """Objects of one fake cluster. Every method may be called from any thread.

    Writes behave like the apiserver's (uid, creationTimestamp, generation bumped on spec
    changes, one global resourceVersion counter, 404/409/422 as `KubeApiError`), with two
    conveniences: `create` keeps a given `status`, and `update` without
    `metadata.resourceVersion` is unconditional. Namespaced objects need their namespace to
    exist; `default`, `kube-system`, `kube-public`, `kube-node-lease` and `flux-system` exist
    from the start, as do the Flux CRDs (HelmRelease v2, Kustomization v1, GitRepository v1).
    With `addons`, the add-on APIs of §6.4's default kinds are served too (hcloud, vCluster and
    policy-report CRDs, metrics.k8s.io PodMetrics), as on a Sovereign; `catalyst-api fake-kube`
    turns them on.
    """

    def __init__(
        self,
        history_limit: int = 1000,
        namespaces: tuple[str, ...] = DEFAULT_NAMESPACES,
        *,
        addons: bool = False,
    ) -> None:
        super().__init__(history_limit=history_limit)
        for ns in namespaces:
            self.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        for group, version, kind, plural, short in FLUX_CRDS:
            self.register_crd(
                group, version, kind, plural, short_names=short, printer_columns=FLUX_COLUMNS
            )
        if addons:
            for group, version, kind, plural, namespaced, short in ADDON_CRDS:
                self.register_crd(group, version, kind, plural, namespaced, short)
            with self._lock:
                for rt in ADDON_TYPES:
                    self.registry.add(rt)

    def create(self, obj: Obj) -> Obj:
        """Create `obj` (namespace defaults to `default`); returns the stored object."""
        rt = self.resolve(obj.get("apiVersion", ""), obj.get("kind", ""))
        return self.create_typed(rt, obj, keep_status=True)

    def get(self, api_version: str, kind: str, namespace: str | None, name: str) -> Obj | None:
        """The object, or None when absent."""
        rt = self.resolve(api_version, kind)
        try:
            return self.get_typed(rt, namespace or "", name)
        except KubeApiError as exc:
            if exc.code == 404:
                return None
            raise

    def update(self, obj: Obj) -> Obj:
        """Full replace of the main resource (status is kept; use `set_status` for it)."""
        rt = self.resolve(obj.get("apiVersion", ""), obj.get("kind", ""))
        meta = obj.get("metadata") or {}
        return self.replace_typed(rt, meta.get("namespace") or "", meta.get("name") or "", obj)

    def patch(
        self,
        api_version: str,
        kind: str,
        namespace: str | None,
        name: str,
        merge_patch: Obj,
        subresource: str | None = None,
    ) -> Obj:
        """JSON-merge-patch the object (or its `status` subresource)."""
        rt = self.resolve(api_version, kind)
        obj, _ = self.patch_typed(
            rt,
            namespace or "",
            name,
            lambda cur: _merge(cur, merge_patch),
            subresource=subresource,
        )
        return obj

    def set_status(
        self, api_version: str, kind: str, namespace: str | None, name: str, status: Obj
    ) -> Obj:
        """Replace `status` through the status subresource."""
        rt = self.resolve(api_version, kind)
        obj, _ = self.patch_typed(
            rt,
            namespace or "",
            name,
            lambda cur: {**cur, "status": status},
            subresource="status",
        )
        return obj

    def delete(self, api_version: str, kind: str, namespace: str | None, name: str) -> None:
        """Delete the object (404 `KubeApiError` when absent)."""
        self.delete_typed(self.resolve(api_version, kind), namespace or "", name)

    def list(
        self,
        api_version: str,
        kind: str,
        namespace: str | None = None,
        label_selector: str | None = None,
    ) -> list[Obj]:
        """Objects of a kind, in one namespace or all, sorted by namespace/name."""
        rt = self.resolve(api_version, kind)
        selector = Selector(
            LabelSelector.parse(label_selector), FieldSelector.parse(None, rt.key), namespace
        )
        return self.list_typed(rt, selector).items

    def register_crd(
        self,
        group: str,
        version: str,
        kind: str,
        plural: str,
        namespaced: bool = True,
        short_names: Sequence[str] = (),
        *,
        printer_columns: Sequence[dict[str, str]] = (),
    ) -> None:
        """Serve a custom resource (creates or extends its CustomResourceDefinition object).

        `printer_columns` are CRD `additionalPrinterColumns` (`kubectl get` shows them).
        """
        crd = crd_object(group, version, kind, plural, namespaced, short_names, printer_columns)
        crd_rt = self.resolve(crd["apiVersion"], crd["kind"])
        with self._lock:
            try:
                current = self.get_typed(crd_rt, "", crd["metadata"]["name"])
            except KubeApiError:
                self.create_typed(crd_rt, crd)
                return
            versions = [v for v in current["spec"]["versions"] if v["name"] != version]
            new_version = dict(crd["spec"]["versions"][0], storage=not versions)
            current["spec"]["versions"] = [*versions, new_version]
            self.replace_typed(crd_rt, "", current["metadata"]["name"], current)

    def append_pod_log(self, namespace: str, pod: str, line: str) -> None:
        """Append one line to a pod's log; `logs -f` followers receive it at once."""
        self.logs.append(namespace, pod, line)


def _merge(current: Obj, patch: Obj) -> Obj:
    result = merge_patch(current, patch)
    assert isinstance(result, dict)
    return result
