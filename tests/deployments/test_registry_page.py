"""The list page's order and cursors from the registry's (startedAt, id) index: newest first,
ties broken by id, a status filter, and a deployment added twice listed once."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from catalyst_api.deployments.registry import Registry


def _registry(count: int, seed: int) -> tuple[Registry, list[Any]]:
    rng = random.Random(seed)
    base = datetime(2026, 1, 1, tzinfo=UTC)
    registry = Registry()
    deps = []
    for i in range(count):
        dep: Any = SimpleNamespace(
            id=f"{rng.getrandbits(64):016x}",
            # few distinct instants, so many deployments share one started_at
            started_at=base
            + timedelta(seconds=rng.randint(0, 20), microseconds=rng.choice([0, 7])),
            status=rng.choice(["ready", "failed", "provisioning"]),
        )
        registry.add(dep)
        deps.append(dep)
        if i % 7 == 0:
            registry.add(dep)  # added again (e.g. reloaded): still listed once
    return registry, deps


def _all_pages(registry: Registry, status: str | None, limit: int) -> list[str]:
    ids: list[str] = []
    cursor = None
    while True:
        page, cursor = registry.page(status=status, limit=limit, cursor=cursor)
        ids += [d.id for d in page]
        if cursor is None:
            return ids


@pytest.mark.parametrize("status", [None, "ready"])
@pytest.mark.parametrize("limit", [1, 7, 50, 500])
def test_pages_walk_every_deployment_newest_first_exactly_once(
    status: str | None, limit: int
) -> None:
    registry, deps = _registry(300, seed=limit)
    expected = [
        d.id
        for d in sorted(deps, key=lambda d: (d.started_at, d.id), reverse=True)
        if status is None or d.status == status
    ]
    assert _all_pages(registry, status, limit) == expected


def test_a_page_of_exactly_the_remaining_items_has_no_next_cursor() -> None:
    registry, _ = _registry(10, seed=1)
    page, cursor = registry.page(status=None, limit=10, cursor=None)
    assert len(page) == 10
    assert cursor is None
