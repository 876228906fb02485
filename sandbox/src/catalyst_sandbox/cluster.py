"""A simulated Sovereign's kube-apiserver: the fake one, over TLS with a persistent CA, plus
snapshot / restore of its objects.

`SovereignApiServer` is a `FakeKubeServer` whose serving certificate is issued by the
Sovereign's `ClusterCA` (the fake's default is a throwaway CA per start), so a kubeconfig
captured before a restart still verifies. `snapshot_objects` / `restore_objects` move every
stored object (CRDs first, then namespaces, then the rest) between a state and JSON.
Resource versions and uids are not preserved: a restore is a new apiserver process whose
clients re-list, as after an apiserver restart that lost its watch cache.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from .fakekube import FakeKubeServer, FakeKubeState, KubeApiError
from .fakekube.tls import ClusterCA

__all__ = ["SovereignApiServer", "restore_objects", "snapshot_objects"]

Obj = dict[str, Any]

_SKIPPED = {
    ("authorization.k8s.io", "subjectaccessreviews"),
    ("", "events"),
}
_CRDS = ("apiextensions.k8s.io", "customresourcedefinitions")
_NAMESPACES = ("", "namespaces")
_SERVER_OWNED = ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields")


class SovereignApiServer(FakeKubeServer):
    """The fake apiserver on `127.0.0.1:<port>` with TLS from `ca` and bearer `token`."""

    def __init__(self, *, ca: ClusterCA, token: str, port: int, state: FakeKubeState) -> None:
        super().__init__(token=token, tls=True, host="127.0.0.1", port=port, state=state)
        self.ca = ca

    def _write_tls_files(self) -> dict[str, Any]:
        # Same contract as the base class (files in a private temp dir, `_ca_pem` set), but
        # signed by the Sovereign's own CA.
        cert_pem, key_pem = self.ca.issue_serving(("127.0.0.1", "localhost"))
        self._ca_pem = self.ca.cert_pem
        self._tmp = tempfile.TemporaryDirectory(prefix="sandbox-kube-tls-")
        certfile, keyfile = Path(self._tmp.name, "tls.crt"), Path(self._tmp.name, "tls.key")
        certfile.write_bytes(cert_pem)
        keyfile.touch(mode=0o600)
        keyfile.write_bytes(key_pem)
        return {"ssl_certfile": str(certfile), "ssl_keyfile": str(keyfile)}


def snapshot_objects(state: FakeKubeState) -> list[Obj]:
    """Every stored object (one version per type), server-owned metadata removed."""
    seen: set[tuple[str, str]] = set()
    objects: list[Obj] = []
    for rt in state.types():
        if rt.key in seen or rt.key in _SKIPPED or "list" not in rt.verbs:
            continue
        seen.add(rt.key)
        for obj in state.list(rt.api_version, rt.kind):
            meta = {k: v for k, v in obj.get("metadata", {}).items() if k not in _SERVER_OWNED}
            objects.append({**obj, "metadata": meta})
    return objects


def _order(obj: Obj) -> int:
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    kind = str(obj.get("kind", ""))
    if (group, kind) == (_CRDS[0], "CustomResourceDefinition"):
        return 0
    if (group, kind) == (_NAMESPACES[0], "Namespace"):
        return 1
    return 2


def restore_objects(state: FakeKubeState, objects: list[Obj]) -> int:
    """Create the snapshot's objects in a fresh state (existing ones are left as they are);
    returns how many were created. Objects the state refuses are skipped."""
    created = 0
    for obj in sorted(objects, key=_order):
        try:
            state.create(obj)
        except KubeApiError as exc:
            if exc.code not in (404, 409, 422):
                raise
            continue
        created += 1
    return created
