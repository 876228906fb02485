"""Pool-subdomain rules of create and retry, and the server secrets a request carries.

The one place the two pool modes branch (`pdm_mode`): with `POOL_DOMAIN_MANAGER_URL` set the
pool-domain-manager owns reservations; unset, catalyst-api reserves in its own registry and writes
the records through Dynadot itself, so it needs the Dynadot credentials (DESIGN item 8).
"""

from __future__ import annotations

from typing import Protocol

from ..config import Settings
from ..errors import InvalidRequest, ServiceUnavailable
from .formats import label_problem
from .lookup import IsManagedDomain, subdomain_conflict
from .models import Deployment, DeploymentRequest
from .registry import Registry
from .runs import Collaborators

__all__ = ["PoolKey", "PoolRules", "SharedReservations", "stamp_server_secrets"]

PoolKey = tuple[str, str]  # (pool domain, subdomain), lower-case


class SharedReservations(Protocol):
    """Pool-subdomain reservations every replica sees (PostgreSQL backend)."""

    async def reserve(self, pool: str, sub: str, deployment_id: str) -> bool:
        """Take the name; False when another deployment holds it."""
        ...

    async def held(self, pool: str, sub: str, *, exclude: str = "") -> bool: ...

    async def release(self, deployment_id: str) -> None: ...


def stamp_server_secrets(req: DeploymentRequest, settings: Settings) -> None:
    """Give a request (new, or retried after a restart redacted it) the secrets the server
    holds: the GHCR pull token, and the Dynadot credentials of a managed-pool deployment."""
    if settings.ghcr_pull_token.get_secret_value():
        req.ghcr_pull_token = settings.ghcr_pull_token
    if req.is_pool:
        req.dynadot_key = settings.dynadot_api_key
        req.dynadot_secret = settings.dynadot_api_secret


class PoolRules:
    """Validates a pool request, reserves its subdomain, re-reserves it on retry."""

    def __init__(
        self,
        *,
        deps: Collaborators,
        registry: Registry,
        is_managed_domain: IsManagedDomain,
        pdm_mode: bool,
    ) -> None:
        self._deps = deps  # settings, and the pool backend (read per call)
        self._registry = registry
        self._is_managed_domain = is_managed_domain
        self._pdm_mode = pdm_mode
        # Several replicas: the reservation in the database decides (a unique key per name).
        self.shared: SharedReservations | None = None

    async def held(self, pool: str, sub: str) -> bool:
        """Whether a deployment (or a create in progress) holds `<sub>.<pool>`: this replica's
        registry, then the shared reservations (the wizard's availability check)."""
        if self._registry.pool_subdomain_held(pool, sub):
            return True
        return self.shared is not None and await self.shared.held(pool, sub)

    async def hold(self, deployment_id: str, key: PoolKey) -> None:
        """Take the shared reservation of a new (or retried) deployment: 409
        `subdomain-conflict` when another replica's deployment holds the name."""
        if self.shared is not None and not await self.shared.reserve(*key, deployment_id):
            raise subdomain_conflict()

    async def unhold(self, deployment_id: str) -> None:
        """A create that failed before its first save gives its shared reservation back."""
        if self.shared is not None:
            await self.shared.release(deployment_id)

    def check_create(self, req: DeploymentRequest) -> PoolKey | None:
        """For a pool request: normalise its subdomain and return its key, or raise 400
        (unmanaged pool domain, bad subdomain), 503 (no Dynadot credentials in embedded mode)
        or 409 `subdomain-conflict`. None for a BYO request."""
        if not req.is_pool:
            return None
        pool = req.sovereign_pool_domain.strip().lower()
        sub = req.sovereign_subdomain.strip().lower()
        label = _pool_label(req.sovereign_fqdn, pool)
        if label and label != sub:
            # The records are written for the subdomain and the cluster is named by the
            # FQDN: when the FQDN sits directly under the pool domain, its label wins.
            sub = label
            req.sovereign_subdomain = label
        if not self._is_managed_domain(pool):
            raise InvalidRequest(
                "unmanaged-pool-domain",
                f"pool domain {pool!r} is not in the managed-domain allowlist "
                "(DYNADOT_MANAGED_DOMAINS)",
            )
        if not sub:
            raise InvalidRequest(
                "invalid-subdomain", "sovereignSubdomain is required for pool deployments"
            )
        problem = label_problem(sub)
        if problem is not None:
            raise InvalidRequest("invalid-subdomain", f"sovereignSubdomain {problem}")
        req.sovereign_subdomain = sub
        settings = self._deps.settings
        if not self._pdm_mode and not (
            settings.dynadot_api_key.get_secret_value()
            and settings.dynadot_api_secret.get_secret_value()
        ):
            raise ServiceUnavailable(
                "dns-credentials-missing",
                "DYNADOT_API_KEY and DYNADOT_API_SECRET must be set on catalyst-api to write "
                "the DNS records of a managed-pool Sovereign (see docs/SECRET-ROTATION.md)",
            )
        # Also in PDM mode: a concurrent create for the same name must lose with
        # subdomain-conflict, not with the fqdn check that follows.
        if self._registry.pool_subdomain_held(pool, sub):
            raise subdomain_conflict()
        return pool, sub

    async def reserve(self, dep: Deployment, key: PoolKey) -> None:
        """Reserve the subdomain of a new deployment (PDM, or the embedded registry)."""
        pool_domains = self._deps.pool_domains
        if pool_domains is None:
            return
        reservation = await pool_domains.reserve(
            deployment_id=dep.id, pool_domain=key[0], subdomain=key[1]
        )
        dep.pdm_reservation_token = reservation.token
        dep.pdm_pool_domain = reservation.pool_domain
        dep.pdm_subdomain = reservation.subdomain

    async def ensure_reservation(self, dep: Deployment) -> None:
        """A retried pool deployment whose reservation was released reserves again."""
        if not dep.request.is_pool or self._deps.pool_domains is None:
            return
        pool_domain = dep.request.sovereign_pool_domain.strip().lower()
        sub = dep.request.sovereign_subdomain.strip().lower()
        if not self._is_managed_domain(pool_domain):
            return
        # A failed deployment no longer holds its name: take it back, unless another did.
        await self.hold(dep.id, (pool_domain, sub))
        if dep.pdm_reservation_token or (not self._pdm_mode and dep.pdm_pool_domain):
            return
        if not self._pdm_mode and self._registry.pool_subdomain_held(pool_domain, sub, exclude=dep):
            raise subdomain_conflict()
        await self.reserve(dep, (pool_domain, sub))


def _pool_label(fqdn: str, pool: str) -> str:
    """`acme` for `acme.omani.works` in pool `omani.works`; "" when not directly under it."""
    name = fqdn.strip().lower().rstrip(".")
    if not pool or not name.endswith("." + pool):
        return ""
    label = name[: -len(pool) - 1]
    return "" if "." in label else label
