"""`plan_removal`: which records a destroy may take out of a zone, and when it must refuse."""

from __future__ import annotations

import pytest

from catalyst_api.dns import (
    DnsRecord,
    UnsafeZoneError,
    Zone,
    is_dns_label,
    plan_removal,
    sovereign_record_names,
    sovereign_records,
)

OURS = sovereign_records("acme", "203.0.113.20")
OTHER = DnsRecord("www", "a", "1.1.1.1")


def zone(
    *records: DnsRecord, dns_type: str = "Dynadot DNS", unparsed: tuple[str, ...] = ()
) -> Zone:
    return Zone("omani.works", dns_type, records, ttl="300", unparsed=unparsed)


def test_the_sovereign_record_set_is_six_a_records_in_order() -> None:
    assert [(r.subdomain, r.type, r.value) for r in OURS] == [
        ("*.acme", "a", "203.0.113.20"),
        ("console.acme", "a", "203.0.113.20"),
        ("gitea.acme", "a", "203.0.113.20"),
        ("harbor.acme", "a", "203.0.113.20"),
        ("admin.acme", "a", "203.0.113.20"),
        ("api.acme", "a", "203.0.113.20"),
    ]


def test_plan_keeps_everything_that_is_not_ours() -> None:
    neighbour = DnsRecord("console.acme2", "a", "9.9.9.9")
    txt_same_name = DnsRecord("api.acme", "txt", "verify=1")
    plan = plan_removal(
        zone(OTHER, *OURS, neighbour, txt_same_name), sovereign_record_names("acme")
    )
    assert plan.remove == tuple(OURS)
    assert plan.keep == (OTHER, neighbour, txt_same_name)


def test_nothing_of_ours_means_nothing_to_do_even_in_an_odd_zone() -> None:
    plan = plan_removal(zone(OTHER, dns_type="Name Servers"), sovereign_record_names("acme"))
    assert plan.remove == ()


@pytest.mark.parametrize(
    ("z", "why"),
    [
        (zone(OTHER, *OURS, dns_type="Name Servers"), "not served by Dynadot DNS"),
        (zone(OTHER, *OURS, unparsed=("SubDomains entry {...}",)), "cannot rewrite exactly"),
        (zone(*OURS), "leave the zone empty"),
        (zone(*[DnsRecord(f"h{i}", "a", "1.1.1.1") for i in range(101)], *OURS), "at most"),
    ],
    ids=["external-nameservers", "unparsed-entry", "only-ours", "too-many-records"],
)
def test_unsafe_rewrites_are_refused(z: Zone, why: str) -> None:
    with pytest.raises(UnsafeZoneError, match=why):
        plan_removal(z, sovereign_record_names("acme"))


@pytest.mark.parametrize(
    ("label", "ok"),
    [
        ("acme", True),
        ("a", True),
        ("a1-b2", True),
        ("a" * 63, True),
        ("a" * 64, False),
        ("", False),
        ("-bad-", False),
        ("1abc", False),
        ("abc-", False),
        ("ab_c", False),
        ("a.b", False),
        ("ünï", False),
        ("ACME", False),
    ],
)
def test_dns_label_rule(label: str, ok: bool) -> None:
    assert is_dns_label(label) is ok
