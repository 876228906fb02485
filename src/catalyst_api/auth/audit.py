"""The audit trail: one structured log line and one counter increment per audited action.

Audited in both modes: create, retry, destroy, kubeconfig GET and PUT, and every denied
request (action `access`, with its route). A record names who (the principal, else the client
address), the action, the deployment and the result; never a token, bearer or kubeconfig byte
(it is never given one).
"""

from __future__ import annotations

import structlog
from prometheus_client import Counter

__all__ = ["AuditTrail", "outcome_of"]

log = structlog.get_logger("catalyst_api.audit")


def outcome_of(status: int, denied: bool) -> str:
    """`allowed` (2xx/3xx), `denied` (401/403, or hidden as 404 from a non-owner), `failed`."""
    if denied or status in (401, 403):
        return "denied"
    return "allowed" if status < 400 else "failed"


class AuditTrail:
    """Writes audit records to the `catalyst_api.audit` logger and `counter`."""

    def __init__(self, counter: Counter) -> None:
        self._counter = counter

    def record(
        self,
        *,
        action: str,
        route: str,
        who: str,
        source: str,
        deployment: str,
        status: int,
        denied: bool = False,
        request_id: str = "",
    ) -> None:
        outcome = outcome_of(status, denied)
        self._counter.labels(action=action, outcome=outcome).inc()
        log.info(
            "audit",
            action=action,
            route=route,
            outcome=outcome,
            who=who,
            via=source,
            deployment_id=deployment or None,
            status=status,
            request_id=request_id or None,
        )
