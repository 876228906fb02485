"""A fake kube-apiserver that real Kubernetes clients talk to over HTTP(S) on loopback.

No real apiserver can run here, so this one imitates the parts catalyst-api, the sandbox and
the end-to-end tests rely on; lightkube, kubernetes_asyncio and kubectl are tested against it::

    async with FakeKubeServer(token="t0ken") as kube:      # or FakeKubeServer.start_in_thread()
        kube.write_kubeconfig(path)                       # URL + bearer token (+ CA with tls)
        kube.state.create({...}); kube.state.set_status(...); kube.state.append_pod_log(...)
        kube.faults.drop_watches(); kube.faults.fail_next(2, status=429)

What it serves: discovery (`/api`, `/apis`, group and group/version lists, `/version`,
minimal `/openapi/v3`), namespaces, pods (+ `/log`), configmaps, secrets, services, nodes,
serviceaccounts, events, persistentvolume(claim)s, resourcequotas, limitranges, apps/v1
deployments/statefulsets/daemonsets/replicasets (+ `/scale` as autoscaling/v1 `Scale`),
ingresses, endpointslices, CustomResourceDefinitions (creating one serves its kind at once;
the Flux HelmRelease v2, Kustomization v1, GitRepository v1 exist from the start) and
SubjectAccessReviews; with `FakeKubeState(addons=True)` (the `fake-kube` command) also the
add-on APIs of spec §6.4's default kinds (hcloud, vCluster, policy-report CRDs, PodMetrics).
Errors are `kind: Status` bodies with the upstream reasons.
`kubectl get` gets server-side `Table`s (CRD `additionalPrinterColumns` honoured).

Semantics kept: uid/creationTimestamp, generation on the kinds that have one (not ConfigMap,
Secret, Namespace...), one global resourceVersion counter, 409 on stale updates, status
subresources, `<Kind>List`s with label/field selectors and consistent `limit`/`continue`
pages, watches with resume, 410 `Expired`, bookmarks, `timeoutSeconds`, selector transitions
(see `watch`).

Deliberate simplifications:
- Deletion is immediate: no finalizers, grace periods or garbage collection (deleting a
  namespace or a CRD deletes what it holds, each with its own DELETED event).
- Server-side apply (`application/apply-patch+yaml`) is a JSON merge of the applied object,
  creating it if absent: no managedFields, no field-ownership conflicts, omitted fields stay.
- Strategic merge covers the list keys listed in `patching`; no schema validation happens
  (`fieldValidation` is accepted and ignored; unknown fields are kept).
- A pod has one log stream (`container` is checked against the spec, not used to split).
- The watch history (`history_limit`, default 1000) is global across kinds.
- Request bodies are JSON/YAML; protobuf only for what kubectl's `create namespace|configmap|
  secret|serviceaccount` generators send (see `protobuf`). Responses are always JSON.
- kubectl (client-go) sends bearer tokens only over https: use `tls=True` / `--tls` for it.
"""

from .errors import KubeApiError
from .faults import Faults
from .sar import SarPolicy
from .server import FakeKubeServer
from .state import FakeKubeState
from .threaded import FakeKubeThread

__all__ = [
    "FakeKubeServer",
    "FakeKubeState",
    "FakeKubeThread",
    "Faults",
    "KubeApiError",
    "SarPolicy",
]
