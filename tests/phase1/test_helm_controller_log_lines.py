"""helm-controller log lines → component + level (spec §8.6 pattern and classifier)."""

from __future__ import annotations

import pytest

from catalyst_api.phase1 import classify_level, match_line

LINES = [
    # logfmt, as helm-controller prints with --log-encoding=console
    'ts=2026-04-30T10:00:00Z level=info msg="reconciling" helmrelease=flux-system/bp-cilium',
    # JSON with namespaced name
    '{"level":"error","ts":"2026-04-30T10:00:01Z","msg":"install failed",'
    '"HelmRelease":"flux-system/bp-cert-manager"}',
    # JSON controller-runtime object reference
    '{"level":"warn","msg":"dependency not ready","HelmRelease":{"name":"bp-keycloak",'
    '"namespace":"flux-system"},"reconcileID":"4f"}',
    # leader election: no HelmRelease → dropped
    "I0430 10:00:00.000000 1 leaderelection.go:250] attempting to acquire leader lease",
    "  level=warn helmrelease=flux-system/bp-flux upgrade retried  ",
    '{"level":"info","helmrelease":"flux-system/bp-catalyst-platform"}',
]


def test_the_three_line_shapes_map_to_component_and_level() -> None:
    matched = [match_line(line) for line in LINES]
    assert [m[:2] if m else None for m in matched] == [
        ("cilium", "info"),
        ("cert-manager", "error"),
        ("keycloak", "warn"),
        None,
        ("flux", "warn"),
        ("catalyst-platform", "info"),
    ]
    assert sum(m is not None for m in matched) == 5


def test_message_is_the_whole_trimmed_line() -> None:
    matched = match_line(LINES[4])
    assert matched is not None
    assert matched[2] == "level=warn helmrelease=flux-system/bp-flux upgrade retried"


@pytest.mark.parametrize(
    "line",
    [
        "",
        "   ",
        "helmrelease=other-ns/bp-cilium",
        "helmrelease=flux-system/cilium",
        "x" * ((1 << 20) + 1) + " helmrelease=flux-system/bp-a",
    ],
    ids=["empty", "blank", "other-namespace", "no-prefix", "over-1MiB"],
)
def test_unrelated_blank_or_oversized_lines_are_dropped(line: str) -> None:
    assert match_line(line) is None


@pytest.mark.parametrize(
    ("line", "level"),
    [
        ("level=error msg=x", "error"),
        ("LEVEL=ERROR msg=x", "error"),
        ('{"level":"error"}', "error"),
        ("level=warn msg=x", "warn"),
        ('{"level":"warn"}', "warn"),
        ("level=warning msg=x", "warn"),
        ("level=info", "info"),
        ('{"level":"debug"}', "info"),
        ("no level at all", "info"),
    ],
)
def test_level_classifier(line: str, level: str) -> None:
    assert classify_level(line) == level
