"""The fake Dynadot behaves like the real API where our safety depends on it: forgetting
`add_dns_to_current_setting` wipes the zone, so a regression in the client cannot hide."""

from __future__ import annotations

import httpx

from catalyst_sandbox.fake_dynadot import FakeDynadot, FakeRecord

KEY = "canary-dynadot-key-4f1e9a"
SECRET = "canary-dynadot-secret-7c2d55"


def _set(fake: FakeDynadot, **params: str) -> dict[str, object]:
    query = {"key": KEY, "secret": SECRET, "command": "set_dns2", "domain": "omani.works"}
    query.update(params)
    body: dict[str, object] = httpx.get(fake.api_url, params=query).json()
    return body


def test_set_dns2_without_the_append_flag_wipes_the_zone(fake_dynadot: FakeDynadot) -> None:
    fake_dynadot.seed("omani.works", FakeRecord("www", "a", "1.1.1.1"))
    _set(fake_dynadot, subdomain0="new", sub_record_type0="a", sub_record0="2.2.2.2")
    assert fake_dynadot.zone("omani.works") == [FakeRecord("new", "a", "2.2.2.2")]


def test_set_dns2_with_the_append_flag_keeps_the_zone(fake_dynadot: FakeDynadot) -> None:
    fake_dynadot.seed("omani.works", FakeRecord("www", "a", "1.1.1.1"))
    for _ in range(2):  # appending the same record twice does not duplicate it
        body = _set(
            fake_dynadot,
            add_dns_to_current_setting="yes",
            subdomain0="new",
            sub_record_type0="a",
            sub_record0="2.2.2.2",
        )
    assert body == {
        "SetDns2Response": {"ResponseHeader": {"ResponseCode": "0", "Status": "success"}}
    }
    assert fake_dynadot.zone("omani.works") == [
        FakeRecord("www", "a", "1.1.1.1"),
        FakeRecord("new", "a", "2.2.2.2"),
    ]


def test_wrong_secret_is_refused_and_changes_nothing(fake_dynadot: FakeDynadot) -> None:
    query = {
        "key": KEY,
        "secret": "nope",
        "command": "set_dns2",
        "domain": "omani.works",
        "subdomain0": "x",
        "sub_record_type0": "a",
        "sub_record0": "1.1.1.1",
    }
    body = httpx.get(fake_dynadot.api_url, params=query).json()
    assert body["Response"]["ResponseCode"] == "-1"
    assert fake_dynadot.zone("omani.works") == []


def test_unknown_domain_is_an_error_envelope(fake_dynadot: FakeDynadot) -> None:
    query = {"key": KEY, "secret": SECRET, "command": "get_dns", "domain": "not-mine.io"}
    body = httpx.get(fake_dynadot.api_url, params=query).json()
    assert body["GetDnsResponse"]["Status"] == "error"
