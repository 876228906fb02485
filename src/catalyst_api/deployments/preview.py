"""Plan previews: bounded, side-effect-free runs of the create's plan, with a cost estimate.

`PlanPreviews.preview(job)` runs the `Planner` for a job the create path validated and built
(see `DeploymentService.plan`), at most `limit` at a time: past it the answer is 429
`too-many-plans` at once, with `Retry-After` (never a queue that holds connections open). A
failed plan is 422 `plan-failed` with OpenTofu's diagnostics (already scrubbed of the job's
secrets), a plan past `CATALYST_PLAN_TIMEOUT` is 504 `plan-timeout`.
"""

from __future__ import annotations

from collections.abc import Callable

from ..errors import GatewayTimeout, TooManyRequests, Unprocessable
from ..provisioner import PlannedChange, PriceTable, ProvisionError, ProvisionJob, estimate
from ..provisioner.models import ProvisionTimedOut
from ..wire.shapes import PlanCounts, PlanResource, PlanResponse
from .ports import Planner

__all__ = ["RETRY_AFTER_SECONDS", "PlanPreviews"]

RETRY_AFTER_SECONDS = 5
"""`Retry-After` of a 429 `too-many-plans`: about the time a sandbox plan takes."""

PlanHook = Callable[[str], None]
"""`on_plan(outcome)`; outcome is `ok`, `failed`, `timeout` or `refused`."""


class PlanPreviews:
    """Runs at most `limit` plans at once and shapes their answers."""

    def __init__(
        self,
        *,
        planner: Planner,
        prices: PriceTable,
        limit: int,
        on_plan: PlanHook | None = None,
    ) -> None:
        self._planner = planner
        self._prices = prices
        self._limit = limit
        self._on_plan = on_plan
        self._running = 0

    @property
    def running(self) -> int:
        """Plans in progress now."""
        return self._running

    def _count(self, outcome: str) -> None:
        if self._on_plan is not None:
            self._on_plan(outcome)

    async def preview(self, job: ProvisionJob) -> PlanResponse:
        """The plan of `job` and its estimate; raises 429 / 422 / 504 (module docs)."""
        if self._running >= self._limit:
            self._count("refused")
            raise TooManyRequests(
                "too-many-plans",
                f"{self._limit} plan previews are already running "
                "(CATALYST_PLAN_CONCURRENCY); retry shortly",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        self._running += 1
        try:
            changes = await self._planner.plan(job)
        except ProvisionTimedOut as exc:
            self._count("timeout")
            raise GatewayTimeout("plan-timeout", str(exc)) from None
        except ProvisionError as exc:
            self._count("failed")
            raise Unprocessable(
                "plan-failed", str(exc), extra={"diagnostics": list(exc.diagnostics)}
            ) from None
        finally:
            self._running -= 1
        self._count("ok")
        return self.shape(changes)

    def shape(self, changes: list[PlannedChange]) -> PlanResponse:
        """The wire answer for planned changes (resources in plan order)."""
        resources: list[PlanResource] = [
            {"address": c.address, "type": c.type, "action": c.action} for c in changes
        ]
        counts: PlanCounts = {"add": 0, "change": 0, "destroy": 0}
        for change in changes:
            if change.action in ("create", "replace"):
                counts["add"] += 1
            if change.action == "update":
                counts["change"] += 1
            if change.action in ("delete", "replace"):
                counts["destroy"] += 1
        cost, warnings = estimate(changes, self._prices)
        return {"resources": resources, "counts": counts, "estimate": cost, "warnings": warnings}
