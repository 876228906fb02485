"""`SandboxCloud`: the simulated Hetzner Cloud the sandbox OpenTofu module talks to.

A token check like Hetzner's (`GET /servers`: 200 for tokens of at least 64 characters that do
not start with `invalid`, 401 otherwise), and create / delete of the module's resources
(networks, subnets, firewalls, SSH keys, load balancers and their parts, servers). Creating
takes simulated time. Creating the first control plane with its cloud-init inputs boots a
`SimulatedSovereign`; creating further servers registers nodes on it; deleting the first
control plane shuts the Sovereign down. The inventory and every Sovereign are persisted and
come back on `start()`.

Deviations from Hetzner kept on purpose: creating a resource whose name exists for the *same*
deployment returns the existing one (a Phase 0 retry after an interrupted apply adopts it),
and deletes need no token (OpenTofu's destroy-time provisioners can only see the resource's own
attributes, and those must not hold the token).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import structlog
from pydantic import SecretStr

from .kit import Timings, parse_fail_components, parse_flaky_components
from .persistence import SandboxFiles
from .sovereign import BootInputs, SimulatedSovereign

__all__ = ["KINDS", "CloudReply", "SandboxCloud", "token_accepted"]

log = structlog.get_logger(__name__)

MIN_TOKEN_LENGTH = 64

KINDS = (
    "networks",
    "subnets",
    "firewalls",
    "ssh_keys",
    "load_balancers",
    "load_balancer_networks",
    "load_balancer_services",
    "load_balancer_targets",
    "servers",
)
"""Resource collections, named like Hetzner Cloud API paths."""


def token_accepted(authorization: str | None) -> bool:
    """Hetzner-like check of an `Authorization: Bearer <token>` header."""
    value = (authorization or "").strip()
    scheme, _, token = value.partition(" ")
    token = token.strip()
    return (
        scheme.lower() == "bearer"
        and len(token) >= MIN_TOKEN_LENGTH
        and not token.startswith("invalid")
    )


@dataclass(frozen=True, slots=True)
class CloudReply:
    """Status code and JSON body of a sandbox cloud answer."""

    status: int
    body: dict[str, Any]


def _error(status: int, code: str, message: str) -> CloudReply:
    return CloudReply(status, {"error": {"code": code, "message": message}})


UNAUTHORIZED = _error(401, "unauthorized", "unable to authenticate")


@dataclass(slots=True)
class Resource:
    """One inventory entry."""

    id: int
    kind: str
    name: str
    deployment_id: str
    sovereign_fqdn: str
    created: str
    attributes: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "name": self.name,
            "deploymentId": self.deployment_id,
            "sovereignFQDN": self.sovereign_fqdn,
            "created": self.created,
            "attributes": self.attributes,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Resource:
        return cls(
            id=int(raw["id"]),
            kind=str(raw["kind"]),
            name=str(raw["name"]),
            deployment_id=str(raw.get("deploymentId", "")),
            sovereign_fqdn=str(raw.get("sovereignFQDN", "")),
            created=str(raw.get("created", "")),
            attributes=dict(raw.get("attributes") or {}),
        )


def _str(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    return value if isinstance(value, str) else ""


class SandboxCloud:
    """Inventory + Sovereigns; `start()` inside the app's lifespan, `aclose()` at shutdown."""

    def __init__(
        self,
        *,
        files: SandboxFiles,
        timings: Timings,
        fail_components: str = "",
        ghcr_token: str = "",
    ) -> None:
        self.files = files
        self.timings = timings
        self.fail_components = fail_components
        self.ghcr_token = ghcr_token
        self.resources: dict[tuple[str, str], Resource] = {}
        self.sovereigns: dict[str, SimulatedSovereign] = {}
        self._ids = itertools.count(1)
        self._lock = asyncio.Lock()
        self._http: httpx.AsyncClient | None = None

    # --- lifecycle -----------------------------------------------------------------------------

    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            raise RuntimeError("sandbox cloud not started")
        return self._http

    async def start(self) -> None:
        """Open the files, load the inventory and bring every persisted Sovereign back."""
        self.files.open()
        self._http = httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=5.0), trust_env=False)
        raw = self.files.read("cloud") or {}
        for item in raw.get("resources") or []:
            with contextlib.suppress(KeyError, TypeError, ValueError):
                resource = Resource.from_json(item)
                self.resources[(resource.kind, resource.name)] = resource
        start_id = max((r.id for r in self.resources.values()), default=0) + 1
        self._ids = itertools.count(start_id)
        for record in list(self.files.sovereigns()):
            try:
                sovereign = SimulatedSovereign.restore(
                    record,
                    ghcr_token=self.ghcr_token,
                    files=self.files,
                    http=self.http,
                    timings=self.timings,
                )
            except (KeyError, TypeError, ValueError) as exc:
                log.warning("unreadable sandbox sovereign skipped", error=str(exc))
                continue
            try:
                await sovereign.start()
            except OSError as exc:
                log.error(
                    "sandbox sovereign could not start: its apiserver port is in use (is "
                    "another catalyst-api using this data directory?)",
                    deployment_id=sovereign.deployment_id,
                    port=sovereign.port,
                    error=str(exc),
                )
                continue
            self.sovereigns[sovereign.deployment_id] = sovereign
        log.info(
            "sandbox cloud started",
            resources=len(self.resources),
            sovereigns=len(self.sovereigns),
            dir=str(self.files.root),
        )

    async def aclose(self) -> None:
        """Stop every Sovereign (their state is persisted) and the HTTP client."""
        for sovereign in list(self.sovereigns.values()):
            await sovereign.stop()
        self.sovereigns.clear()
        if self._http is not None:
            await self._http.aclose()
            self._http = None
        self.files.close()

    # --- inventory -----------------------------------------------------------------------------

    async def _save(self) -> None:
        items = [r.to_json() for r in sorted(self.resources.values(), key=lambda r: r.id)]
        try:
            await self.files.awrite("cloud", {"resources": items})
        except OSError as exc:
            log.warning("sandbox cloud inventory not saved", error=str(exc))

    def servers(self) -> list[dict[str, Any]]:
        """Every server, Hetzner-ish."""
        return [
            {
                "id": r.id,
                "name": r.name,
                "status": "running",
                "created": r.created,
                "labels": r.attributes.get("labels") or {},
                "public_net": {"ipv4": {"ip": r.attributes.get("ipv4", "")}},
            }
            for r in self.resources.values()
            if r.kind == "servers"
        ]

    def describe(self) -> dict[str, Any]:
        """Inventory and Sovereigns (no secrets)."""
        return {
            "resources": [r.to_json() for r in sorted(self.resources.values(), key=lambda r: r.id)],
            "sovereigns": [s.describe() for s in self.sovereigns.values()],
        }

    def _delay(self, kind: str, *, create: bool) -> float:
        t = self.timings
        if not create:
            return t.delete_server if kind == "servers" else t.delete_resource
        return {
            "networks": t.create_network,
            "subnets": t.create_subnet,
            "firewalls": t.create_firewall,
            "ssh_keys": t.create_ssh_key,
            "load_balancers": t.create_load_balancer,
            "servers": t.create_server,
        }.get(kind, t.create_lb_part)

    # --- create / delete -----------------------------------------------------------------------

    def _taken(self, kind: str, name: str, deployment_id: str) -> bool:
        """The name belongs to another deployment's resource (Hetzner: `uniqueness_error`)."""
        existing = self.resources.get((kind, name))
        return existing is not None and existing.deployment_id != deployment_id

    async def create(
        self, kind: str, body: dict[str, Any], authorization: str | None
    ) -> CloudReply:
        """Create one resource (simulated time), booting a Sovereign for a first control plane."""
        if not token_accepted(authorization):
            return UNAUTHORIZED
        if kind not in KINDS:
            return _error(404, "not_found", f"unknown resource collection {kind!r}")
        name = _str(body, "name")
        deployment_id = _str(body, "deployment_id")
        if not name:
            return _error(422, "invalid_input", "name is required")
        if self._taken(kind, name, deployment_id):
            return _error(409, "uniqueness_error", f"{kind} name {name!r} is already used")
        await asyncio.sleep(self._delay(kind, create=True))
        async with self._lock:
            if self._taken(kind, name, deployment_id):
                return _error(409, "uniqueness_error", f"{kind} name {name!r} is already used")
            resource = self.resources.get((kind, name))
            adopted = resource is not None
            if resource is None:
                attributes = {k: v for k, v in body.items() if k not in ("boot", "name")}
                resource = Resource(
                    id=next(self._ids),
                    kind=kind,
                    name=name,
                    deployment_id=deployment_id,
                    sovereign_fqdn=_str(body, "sovereign_fqdn"),
                    created=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    attributes=attributes,
                )
                self.resources[(kind, name)] = resource
        if not adopted:
            await self._save()
        if kind == "servers":
            await self._server_created(resource, body)
        log.info(
            "sandbox cloud resource created",
            kind=kind,
            name=name,
            deployment_id=deployment_id,
            adopted=adopted,
        )
        return CloudReply(201, {kind.removesuffix("s"): resource.to_json()})

    async def _server_created(self, server: Resource, body: dict[str, Any]) -> None:
        boot = body.get("boot")
        deployment_id = server.deployment_id
        if isinstance(boot, dict) and deployment_id not in self.sovereigns:
            await self._boot(server, boot)
            return
        sovereign = self.sovereigns.get(deployment_id)
        if sovereign is not None and server.name != sovereign.inputs.node_name:
            sovereign.add_node(
                server.name,
                role=str(server.attributes.get("role", "worker")),
                internal_ip=str(server.attributes.get("private_ip", "")),
            )

    async def _boot(self, server: Resource, boot: dict[str, Any]) -> None:
        bearer = _str(boot, "kubeconfig_bearer_token")
        inputs = BootInputs(
            deployment_id=server.deployment_id,
            sovereign_fqdn=server.sovereign_fqdn,
            catalyst_api_url=_str(boot, "catalyst_api_url"),
            org_name=_str(boot, "org_name"),
            org_email=_str(boot, "org_email"),
            region=_str(boot, "region"),
            gitops_repo_url=_str(boot, "gitops_repo_url"),
            gitops_branch=_str(boot, "gitops_branch") or "main",
            k3s_version=_str(boot, "k3s_version"),
            lb_ipv4=_str(boot, "lb_ipv4"),
            node_name=server.name,
            node_ip=str(server.attributes.get("private_ip", "")),
        )
        sovereign = SimulatedSovereign.boot(
            inputs,
            bearer=SecretStr(bearer) if bearer else None,
            ghcr_token=_str(boot, "ghcr_pull_token") or self.ghcr_token,
            files=self.files,
            http=self.http,
            timings=self.timings,
            fail=parse_fail_components(self.fail_components, inputs.org_name),
            flaky=parse_flaky_components(inputs.org_name),
        )
        self.sovereigns[server.deployment_id] = sovereign
        await sovereign.start()
        for other in self.resources.values():
            if other.kind == "servers" and other.deployment_id == server.deployment_id:
                sovereign.add_node(
                    other.name,
                    role=str(other.attributes.get("role", "worker")),
                    internal_ip=str(other.attributes.get("private_ip", "")),
                )

    async def delete(self, kind: str, name: str) -> CloudReply:
        """Delete one resource; deleting a Sovereign's first control plane shuts it down."""
        async with self._lock:
            resource = self.resources.get((kind, name))
        if resource is None:
            return _error(404, "not_found", f"{kind} {name!r} not found")
        await asyncio.sleep(self._delay(kind, create=False))
        async with self._lock:
            if self.resources.pop((kind, name), None) is None:
                return _error(404, "not_found", f"{kind} {name!r} not found")
        await self._save()
        if kind == "servers":
            sovereign = self.sovereigns.get(resource.deployment_id)
            if sovereign is not None and sovereign.inputs.node_name == name:
                del self.sovereigns[resource.deployment_id]
                await sovereign.stop(delete=True)
            elif sovereign is not None:
                sovereign.remove_node(name)
        log.info(
            "sandbox cloud resource deleted",
            kind=kind,
            name=name,
            deployment_id=resource.deployment_id,
        )
        return CloudReply(200, {kind.removesuffix("s"): resource.to_json()})
