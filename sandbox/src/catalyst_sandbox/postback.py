"""The control plane's kubeconfig postback, as cloud-init's `curl` does it (spec §5).

`PUT <catalyst_api_url>/api/v1/deployments/<id>/kubeconfig` with `Authorization: Bearer <token>`
and `Content-Type: application/x-yaml`, over real HTTP. Like `curl -f --retry 60 --retry-delay 10
--retry-all-errors`, every failure (connection error or any non-2xx answer, a wrong bearer's
403 included) is retried a bounded number of times; giving up is logged, not raised (cloud-init
carries on with the Flux install, and catalyst-api reports the missing postback).
"""

from __future__ import annotations

import asyncio

import httpx
import structlog
from pydantic import SecretStr

__all__ = ["PostbackResult", "put_kubeconfig"]

log = structlog.get_logger(__name__)

PostbackResult = bool


async def put_kubeconfig(
    http: httpx.AsyncClient,
    *,
    api_url: str,
    deployment_id: str,
    bearer: SecretStr,
    kubeconfig: bytes,
    attempts: int = 61,
    delay: float = 10.0,
) -> PostbackResult:
    """True once catalyst-api accepted the kubeconfig (2xx); False after `attempts` tries."""
    url = f"{api_url.rstrip('/')}/api/v1/deployments/{deployment_id}/kubeconfig"
    headers = {
        "Authorization": f"Bearer {bearer.get_secret_value()}",
        "Content-Type": "application/x-yaml",
    }
    for attempt in range(1, attempts + 1):
        try:
            response = await http.put(url, content=kubeconfig, headers=headers)
        except httpx.HTTPError as exc:
            outcome = type(exc).__name__
        else:
            if response.is_success:
                log.info(
                    "sandbox kubeconfig postback accepted",
                    deployment_id=deployment_id,
                    attempt=attempt,
                )
                return True
            outcome = f"HTTP {response.status_code}"
        if attempt < attempts:
            log.warning(
                "sandbox kubeconfig postback failed; retrying",
                deployment_id=deployment_id,
                attempt=attempt,
                outcome=outcome,
            )
            await asyncio.sleep(delay)
    log.error(
        "sandbox kubeconfig postback gave up",
        deployment_id=deployment_id,
        attempts=attempts,
        outcome=outcome,
    )
    return False
