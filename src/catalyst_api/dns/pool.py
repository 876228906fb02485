"""Choose the `PoolDomains` backend from settings: PDM when `POOL_DOMAIN_MANAGER_URL` is set
(`pool_pdm.PdmPoolDomains`), else the embedded Dynadot one (`pool_embedded.EmbeddedPoolDomains`).
"""

from __future__ import annotations

import httpx

from ..config import Settings
from ._http import Backoff
from .allowlist import ManagedDomains
from .dynadot import DynadotClient
from .pdm import PdmClient
from .pool_embedded import EmbeddedPoolDomains
from .pool_pdm import PdmPoolDomains
from .types import PoolDomains

__all__ = ["EmbeddedPoolDomains", "PdmPoolDomains", "build_pool_domains"]


def build_pool_domains(
    settings: Settings,
    managed: ManagedDomains,
    http: httpx.AsyncClient,
    *,
    backoff: Backoff | None = None,
) -> PoolDomains:
    """PDM backend when `POOL_DOMAIN_MANAGER_URL` is set, else the embedded Dynadot one."""
    if settings.pool_domain_manager_url:
        return PdmPoolDomains(PdmClient(http, settings.pool_domain_manager_url), backoff=backoff)
    client = DynadotClient(
        http,
        api_url=settings.dynadot_api_url,
        key=settings.dynadot_api_key,
        secret=settings.dynadot_api_secret,
        backoff=backoff,
    )
    return EmbeddedPoolDomains(client, managed=managed)
