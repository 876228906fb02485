"""Who may call what: the route → role table, the authorization dependency, the audit hook.

`ROUTE_ACCESS` names every route the app serves (a test fails when one is missing): the role
it needs in `CATALYST_AUTH_MODE=required` (None: public), whether it names a deployment that a
non-admin must own (others answer the route's own 404, so existence does not leak), whether
`?access_token=` is accepted (SSE routes, for `EventSource`), and its audit action. Adding a
route is one line here. In `open` mode `authorize` lets everything through (the original's
behaviour); the audit trail runs in both modes (`AuditMiddleware`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from ..auth import AuditTrail, Credentials, InvalidCredential, Principal, Role
from ..auth.authenticator import bearer_of
from ..errors import CatalystError, DeploymentNotFound, Forbidden, NotFound, Unauthorized
from ..jobs import JobsError
from .deps import services
from .middleware import ASGIApp, Message, Receive, Scope, Send

__all__ = ["ROUTE_ACCESS", "Access", "AuditMiddleware", "authorize"]

VIEWER, OPERATOR, ADMIN = Role.VIEWER, Role.OPERATOR, Role.ADMIN


@dataclass(frozen=True, slots=True)
class Access:
    """A route's rule. `owned`: the path parameter naming the deployment (or execution)
    whose owner a non-admin must be, and which 404 hides it (`text`: the original's
    `deployment not found`, `json`: `deployment-not-found`, `k8s`: not registered, `exec`:
    `execution-not-found`)."""

    role: Role | None
    owned: tuple[str, str] | None = None
    sse: bool = False
    audit: str | None = None


PUBLIC = Access(None)
DEP = "/api/v1/deployments/{deployment_id}"
JOBS = "/api/v1/deployments/{dep_id}"
K8S = "/api/v1/sovereigns/{sovereign_id}/k8s"
OWN_TEXT = ("deployment_id", "text")
OWN_JSON = ("dep_id", "json")
OWN_K8S = ("sovereign_id", "k8s")
OWN_INFRA = ("dep_id", "infra")
INFRA = "/api/v1/deployments/{dep_id}/infrastructure"

INFRA_VIEWS = ("topology", "compute", "storage", "network")
INFRA_CREATES = (
    "regions",
    "regions/{region_id}/clusters",
    "clusters/{cluster_id}/vclusters",
    "clusters/{cluster_id}/pools",
    "loadbalancers",
    "peerings",
    "firewalls/{firewall_id}/rules",
    "nodes/{node_id}/{action}",
)

CONSOLE_PATHS = (
    "/",
    "/deployments/new",
    "/deployments/{deployment_id}",
    "/deployments/{deployment_id}/infrastructure",
    "/deployments/{deployment_id}/objects",
    "/console/oidc-callback",
    "/console/static/{name}",
)

ROUTE_ACCESS: dict[tuple[str, str], Access] = {
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    ("GET", "/openapi.json"): PUBLIC,
    ("POST", "/api/v1/credentials/validate"): Access(OPERATOR),
    ("POST", "/api/v1/subdomains/check"): Access(OPERATOR),
    ("POST", "/api/v1/sshkey/generate"): Access(OPERATOR),
    ("POST", "/api/v1/registrar/{registrar:path}/validate"): Access(OPERATOR),
    ("POST", "/api/v1/registrar/{registrar:path}/set-ns"): Access(OPERATOR),
    ("POST", "/api/v1/deployments"): Access(OPERATOR, audit="create"),
    ("POST", "/api/v1/deployments/plan"): Access(OPERATOR),
    ("GET", "/api/v1/deployments"): Access(VIEWER),
    ("GET", DEP): Access(VIEWER, OWN_TEXT),
    ("GET", f"{DEP}/events"): Access(VIEWER, OWN_TEXT),
    ("GET", f"{DEP}/logs"): Access(VIEWER, OWN_TEXT, sse=True),
    ("GET", f"{DEP}/kubeconfig"): Access(ADMIN, OWN_TEXT, audit="kubeconfig-get"),
    # cloud-init's postback: its one-time bearer is the only credential (checked by the route).
    ("PUT", f"{DEP}/kubeconfig"): Access(None, audit="kubeconfig-put"),
    ("POST", f"{DEP}/phases/{{phase}}/retry"): Access(OPERATOR, OWN_TEXT, audit="retry"),
    ("DELETE", DEP): Access(OPERATOR, OWN_TEXT, audit="destroy"),
    ("GET", f"{JOBS}/jobs"): Access(VIEWER, OWN_JSON),
    ("GET", f"{JOBS}/jobs/batches"): Access(VIEWER, OWN_JSON),
    ("GET", f"{JOBS}/jobs/{{job_id}}"): Access(VIEWER, OWN_JSON),
    ("GET", "/api/v1/actions/executions/{exec_id}/logs"): Access(VIEWER, ("exec_id", "exec")),
    ("POST", f"{JOBS}/refresh-watch"): Access(OPERATOR, OWN_JSON),
    ("GET", f"{JOBS}/components/state"): Access(VIEWER, OWN_JSON),
    ("GET", f"{K8S}/stream"): Access(VIEWER, OWN_K8S, sse=True),
    ("GET", f"{K8S}/sync"): Access(VIEWER, OWN_K8S),
    ("GET", f"{K8S}/{{kind}}"): Access(VIEWER, OWN_K8S),
    # The infrastructure page (issue 13): reads are viewer-level, Day-2 changes operator-level.
    **{("GET", f"{INFRA}/{view}"): Access(VIEWER, OWN_INFRA) for view in INFRA_VIEWS},
    **{("POST", f"{INFRA}/{path}"): Access(OPERATOR, OWN_INFRA) for path in INFRA_CREATES},
    ("PATCH", f"{INFRA}/pools/{{pool_id}}"): Access(OPERATOR, OWN_INFRA),
    ("DELETE", f"{INFRA}/pools/{{pool_id}}"): Access(OPERATOR, OWN_INFRA),
    ("DELETE", f"{INFRA}/{{kind}}/{{resource_id}}"): Access(OPERATOR, OWN_INFRA),
    # Aggregates every Sovereign's workloads, whoever owns them: admin-only in required mode.
    ("GET", "/api/v1/dashboard/treemap"): Access(ADMIN),
    # Who the caller is (the console hides what their role forbids).
    ("GET", "/api/v1/session"): Access(VIEWER),
    # The web console (issue 18): pages and assets hold no data (their scripts call the API
    # with the tab's bearer), so they are public: `/` shows the sign-in in required mode.
    **{("GET", path): PUBLIC for path in CONSOLE_PATHS},
}
UNLISTED = Access(ADMIN)
"""A route missing from the table (a test forbids it) is admin-only, never open."""


def _route_key(scope: Scope) -> tuple[str, str] | None:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return (str(scope.get("method", "")), path) if path else None


class _NotRegistered(NotFound):
    """The k8scache routes' text 404 for a cluster it does not hold."""

    content_type = "text/plain; charset=utf-8"

    def __init__(self, cluster: str) -> None:
        super().__init__("not-registered")
        self.cluster = cluster

    def text(self) -> str:
        return f"sovereign {self.cluster!r} is not registered in the k8scache\n"


def _hidden(kind: str, ident: str) -> CatalystError:
    if kind == "text":
        return DeploymentNotFound()
    if kind == "exec":
        return NotFound("execution-not-found")
    if kind == "k8s":
        return _NotRegistered(ident)
    if kind == "infra":  # byte-identical to the infrastructure routes' own 404
        return NotFound("deployment-not-found", f"no deployment with id {ident}")
    return NotFound("deployment-not-found")


async def _deployment_of(request: Request, kind: str, ident: str) -> str | None:
    """The deployment a path parameter names (an execution's deployment for `exec`)."""
    if kind != "exec":
        return ident
    jobs = services(request).jobs
    if jobs is None:
        return None
    try:
        owner, _ = await asyncio.to_thread(jobs.store.find_execution, ident)
    except (JobsError, OSError):
        return None
    return owner


async def _check_owner(request: Request, principal: Principal, owned: tuple[str, str]) -> None:
    param, kind = owned
    ident = str(request.path_params.get(param, ""))
    dep_id = await _deployment_of(request, kind, ident)
    dep = services(request).deployments.registry.get(dep_id) if dep_id else None
    if dep is None and kind in ("text", "json", "infra"):
        return  # unknown: the route answers its own 404
    if dep is None or dep.owner != principal.name:
        request.state.audit_denied = True
        raise _hidden(kind, ident)


async def authorize(request: Request) -> None:
    """FastAPI dependency of every route: in `required` mode, 401 without a valid principal,
    403 without the route's role, the route's 404 for a non-admin's foreign deployment."""
    svc = services(request)
    authenticator = svc.authenticator
    if authenticator is None:
        return
    key = _route_key(request.scope)
    rule = ROUTE_ACCESS.get(key, UNLISTED) if key else UNLISTED
    if rule.role is None:
        return
    bearer = bearer_of(request.headers.get("authorization"))
    if bearer is None and rule.sse:
        bearer = request.query_params.get("access_token") or None
    credentials = Credentials(
        bearer=bearer,
        client_host=request.client.host if request.client else None,
        header=request.headers.get,
    )
    try:
        principal = await authenticator.authenticate(credentials)
    except InvalidCredential as exc:
        raise Unauthorized(
            "unauthenticated",
            f"invalid credential: {exc}",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        ) from None
    if principal is None:
        raise Unauthorized(
            "unauthenticated",
            "this route needs a bearer token (CATALYST_AUTH_MODE=required)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    request.state.principal = principal
    if not principal.has(rule.role):
        raise Forbidden("forbidden", f"the {rule.role.label} role is needed")
    if rule.owned is not None and not principal.is_admin:
        await _check_owner(request, principal, rule.owned)


def principal_of(request: Request) -> Principal | None:
    """The authenticated caller (`required` mode), else None."""
    found = getattr(request.state, "principal", None)
    return found if isinstance(found, Principal) else None


def visible_owner(request: Request) -> str | None:
    """Whose deployments a list shows: None (everyone's) in `open` mode and for an admin,
    else the principal's own."""
    principal = principal_of(request)
    if principal is None or principal.is_admin:
        return None
    return principal.name


_PATH_DEPLOYMENT = ("deployment_id", "dep_id", "sovereign_id")


class AuditMiddleware:
    """After each response: an audit record for the audited routes and every denial
    (401/403, or a 404 hiding a foreign deployment). Pure ASGI; reads what the route and
    `authorize` left in the request scope, never a header or the body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            self._record(scope, status)

    def _record(self, scope: Scope, status: int) -> None:
        state: dict[str, Any] = scope.get("state") or {}
        denied = bool(state.get("audit_denied"))
        key = _route_key(scope)
        rule = ROUTE_ACCESS.get(key) if key else None
        action = rule.audit if rule is not None else None
        if action is None and not (denied or status in (401, 403)):
            return
        svc = state.get("services")
        if svc is None or svc.audit is None:
            return
        found = state.get("principal")
        principal = found if isinstance(found, Principal) else None
        client = scope.get("client")
        params: dict[str, Any] = scope.get("path_params") or {}
        deployment = next((str(params[p]) for p in _PATH_DEPLOYMENT if p in params), "")
        trail: AuditTrail = svc.audit
        trail.record(
            action=action or "access",
            route=f"{scope.get('method', '')} {key[1] if key else 'unmatched'}",
            who=principal.name if principal is not None else (client[0] if client else ""),
            source=principal.source if principal is not None else "address",
            deployment=deployment or str(state.get("audit_deployment", "")),
            status=status,
            denied=denied,
            request_id=str(state.get("request_id", "")),
        )
