"""`RecentKeys`: once per key per window, bounded in size."""

from __future__ import annotations

from catalyst_api.deployments.recent import RecentKeys


def test_a_key_counts_once_per_window_then_again_after_it() -> None:
    now = [100.0]
    recent = RecentKeys(60.0, clock=lambda: now[0])
    assert recent.first_in_window(("d", "cilium"))
    assert not recent.first_in_window(("d", "cilium"))
    assert recent.first_in_window(("d", "flux"))
    now[0] += 59.9
    assert not recent.first_in_window(("d", "cilium"))
    now[0] += 0.2
    assert recent.first_in_window(("d", "cilium"))


def test_the_number_of_remembered_keys_is_bounded() -> None:
    recent = RecentKeys(60.0, max_keys=3, clock=lambda: 0.0)
    for key in range(10):
        assert recent.first_in_window(key)
    assert len(recent._seen) == 3
    assert not recent.first_in_window(9)
