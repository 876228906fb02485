"""The managed-domain allowlist (spec §7.1)."""

from __future__ import annotations

import pytest

from catalyst_api.dns import ManagedDomains, parse_domain_list


@pytest.mark.parametrize(
    ("managed", "legacy", "expected"),
    [
        ("openova.io, omani.works,acme.io", "", ["acme.io", "omani.works", "openova.io"]),
        ("ACME.io  acme.io", "", ["acme.io"]),
        (",,, ,", "", ["omani.works", "openova.io"]),
        ("", "openova.io", ["openova.io"]),
        ("", " Legacy.IO ", ["legacy.io"]),
        ("only.io", "legacy.io", ["only.io"]),
        ("", "", ["omani.works", "openova.io"]),
    ],
    ids=[
        "list",
        "dedupe-lowercase",
        "empty-list-falls-back",
        "legacy",
        "legacy-trimmed",
        "list-wins",
        "defaults",
    ],
)
def test_allowlist_resolution(managed: str, legacy: str, expected: list[str]) -> None:
    assert ManagedDomains.from_settings_values(managed, legacy).sorted() == expected


def test_legacy_domain_does_not_include_the_defaults() -> None:
    domains = ManagedDomains.from_settings_values("", "openova.io")
    assert not domains.is_managed("omani.works")


@pytest.mark.parametrize(
    ("query", "managed"),
    [
        (" OMANI.works ", True),
        ("", False),
        ("   ", False),
        ("works", False),
        ("x.omani.works", False),
    ],
)
def test_membership_is_trimmed_and_case_insensitive(query: str, managed: bool) -> None:
    assert ManagedDomains.from_settings_values("", "").is_managed(query) is managed


def test_split_domains_list_dedupes_and_drops_empties() -> None:
    assert parse_domain_list("a.io,,b.io a.io\tc.io") == ["a.io", "b.io", "c.io"]
    assert parse_domain_list(" , ") == []
