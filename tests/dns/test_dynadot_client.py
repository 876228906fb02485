"""The Dynadot API3 client against the fake Dynadot over real HTTP (spec §7.3)."""

from __future__ import annotations

import httpx
import pytest
import structlog
from pydantic import SecretStr

from catalyst_api.dns import Backoff, DnsRecord, DynadotClient, DynadotError
from catalyst_sandbox.fake_dynadot import FakeDynadot, FakeRecord

KEY = "canary-dynadot-key-4f1e9a"
SECRET = "canary-dynadot-secret-7c2d55"
FAST = Backoff(attempts=5, base=0.001, cap=0.01)


def client_for(
    http: httpx.AsyncClient, fake: FakeDynadot, *, timeout: float = 5.0, key: str = KEY
) -> DynadotClient:
    return DynadotClient(
        http,
        api_url=fake.api_url,
        key=SecretStr(key),
        secret=SecretStr(SECRET),
        timeout=timeout,
        backoff=FAST,
    )


async def test_subdomain_record_uses_sub_params_and_appends(
    http: httpx.AsyncClient, dynadot_here: FakeDynadot
) -> None:
    await client_for(http, dynadot_here).add_record(
        "omani.works", DnsRecord("api.acme", "a", "1.2.3.4")
    )
    (call,) = dynadot_here.calls("set_dns2")
    assert call == {
        "key": KEY,
        "secret": SECRET,
        "command": "set_dns2",
        "domain": "omani.works",
        "add_dns_to_current_setting": "yes",
        "subdomain0": "api.acme",
        "sub_record_type0": "a",
        "sub_record0": "1.2.3.4",
        "sub_recordx0": "300",
    }


@pytest.mark.parametrize("apex", ["", "@"], ids=["empty", "at-sign"])
async def test_apex_record_uses_main_params(
    http: httpx.AsyncClient, dynadot_here: FakeDynadot, apex: str
) -> None:
    await client_for(http, dynadot_here).add_record("omani.works", DnsRecord(apex, "a", "5.6.7.8"))
    (call,) = dynadot_here.calls("set_dns2")
    assert call["main_record_type0"] == "a"
    assert call["main_record0"] == "5.6.7.8"
    assert call["main_recordx0"] == "300"
    assert "subdomain0" not in call
    assert call["add_dns_to_current_setting"] == "yes"


async def test_custom_ttl_is_sent_as_recordx(
    http: httpx.AsyncClient, dynadot_here: FakeDynadot
) -> None:
    await client_for(http, dynadot_here).add_record(
        "omani.works", DnsRecord("x", "a", "1.1.1.1"), ttl=60
    )
    assert dynadot_here.calls("set_dns2")[0]["sub_recordx0"] == "60"


async def test_error_envelope_fails_with_the_registrars_message_without_retry(
    http: httpx.AsyncClient, dynadot_here: FakeDynadot
) -> None:
    dynadot_here.fail_next("envelope", message="problem with connection to main server")
    with pytest.raises(DynadotError) as caught:
        await client_for(http, dynadot_here).add_record(
            "omani.works", DnsRecord("x", "a", "1.1.1.1")
        )
    assert str(caught.value) == (
        "dynadot api error: code=-1 status=error err=problem with connection to main server"
    )
    assert len(dynadot_here.calls()) == 1


async def test_wrong_credentials_are_an_api_error(
    http: httpx.AsyncClient, dynadot_here: FakeDynadot
) -> None:
    with pytest.raises(DynadotError, match="invalid key or secret"):
        await client_for(http, dynadot_here, key="another-key").add_record(
            "omani.works", DnsRecord("x", "a", "1.1.1.1")
        )


async def test_transient_http_500_is_retried_then_succeeds(
    http: httpx.AsyncClient, dynadot_here: FakeDynadot
) -> None:
    dynadot_here.fail_next("http", status=500, times=2)
    retries: list[tuple[int, int]] = []
    await client_for(http, dynadot_here).add_record(
        "omani.works",
        DnsRecord("x", "a", "1.1.1.1"),
        on_retry=lambda attempt, attempts, _delay, _why: retries.append((attempt, attempts)),
    )
    assert len(dynadot_here.calls("set_dns2")) == 3
    assert retries == [(1, 5), (2, 5)]
    assert FakeRecord("x", "a", "1.1.1.1", "300") in dynadot_here.zone("omani.works")


async def test_persistent_http_500_gives_up_after_five_tries_with_the_status(
    http: httpx.AsyncClient, dynadot_here: FakeDynadot
) -> None:
    dynadot_here.fail_next("http", status=500, times=10, message="upstream exploded")
    with pytest.raises(DynadotError) as caught:
        await client_for(http, dynadot_here).add_record(
            "omani.works", DnsRecord("x", "a", "1.1.1.1")
        )
    assert len(dynadot_here.calls()) == 5
    assert "HTTP 500" in str(caught.value)
    assert "upstream exploded" in str(caught.value)
    assert "gave up after 5 attempts" in str(caught.value)


async def test_http_4xx_is_not_retried(http: httpx.AsyncClient, dynadot_here: FakeDynadot) -> None:
    dynadot_here.fail_next("http", status=403, message="forbidden")
    with pytest.raises(DynadotError, match="HTTP 403"):
        await client_for(http, dynadot_here).add_record(
            "omani.works", DnsRecord("x", "a", "1.1.1.1")
        )
    assert len(dynadot_here.calls()) == 1


async def test_non_json_answer_fails_with_the_body(
    http: httpx.AsyncClient, dynadot_here: FakeDynadot
) -> None:
    dynadot_here.fail_next("non-json", message="maintenance")
    with pytest.raises(DynadotError, match=r"not JSON: <html>maintenance</html>"):
        await client_for(http, dynadot_here).add_record(
            "omani.works", DnsRecord("x", "a", "1.1.1.1")
        )


async def test_timeout_is_retried(http: httpx.AsyncClient, dynadot_here: FakeDynadot) -> None:
    dynadot_here.fail_next("delay", delay=0.5)
    await client_for(http, dynadot_here, timeout=0.1).add_record(
        "omani.works", DnsRecord("x", "a", "1.1.1.1")
    )
    assert len(dynadot_here.calls("set_dns2")) == 2


async def test_unreachable_endpoint_fails_without_leaking_credentials(
    http: httpx.AsyncClient,
) -> None:
    client = DynadotClient(
        http,
        api_url="http://127.0.0.1:9/api3.json",
        key=SecretStr(KEY),
        secret=SecretStr(SECRET),
        backoff=FAST,
    )
    with structlog.testing.capture_logs() as logs, pytest.raises(DynadotError) as caught:
        await client.add_record("omani.works", DnsRecord("x", "a", "1.1.1.1"))
    assert caught.value.transient
    text = str(caught.value) + repr(caught.value.__cause__) + repr(logs)
    assert KEY not in text and SECRET not in text
    assert "127.0.0.1:9" not in str(caught.value)
    assert len(logs) == 4  # one warning per retry


async def test_missing_credentials_refuse_before_any_request(
    http: httpx.AsyncClient, dynadot_here: FakeDynadot
) -> None:
    client = DynadotClient(
        http, api_url=dynadot_here.api_url, key=SecretStr(""), secret=SecretStr("")
    )
    with pytest.raises(DynadotError, match="DYNADOT_API_KEY and DYNADOT_API_SECRET must be set"):
        await client.add_record("omani.works", DnsRecord("x", "a", "1.1.1.1"))
    assert dynadot_here.calls() == []


async def test_get_zone_reads_apex_and_subdomain_records(
    http: httpx.AsyncClient, dynadot_here: FakeDynadot
) -> None:
    dynadot_here.seed(
        "omani.works",
        FakeRecord("", "a", "9.9.9.9"),
        FakeRecord("", "mx", "mx.omani.works", "10"),
        FakeRecord("www", "cname", "omani.works"),
    )
    zone = await client_for(http, dynadot_here).get_zone("omani.works")
    assert zone.dns_type == "Dynadot DNS"
    assert zone.unparsed == ()
    assert zone.records == (
        DnsRecord("", "a", "9.9.9.9"),
        DnsRecord("", "mx", "mx.omani.works", "10"),
        DnsRecord("www", "cname", "omani.works"),
    )
    (call,) = dynadot_here.calls("get_dns")
    assert call["key"] == KEY and call["secret"] == SECRET


async def test_replace_zone_rewrites_exactly_the_given_records(
    http: httpx.AsyncClient, dynadot_here: FakeDynadot
) -> None:
    dynadot_here.seed("omani.works", FakeRecord("old", "a", "1.1.1.1"))
    keep = [DnsRecord("", "mx", "mx.omani.works", "10"), DnsRecord("www", "cname", "omani.works")]
    await client_for(http, dynadot_here).replace_zone("omani.works", keep, ttl="600")
    (call,) = dynadot_here.calls("set_dns2")
    assert "add_dns_to_current_setting" not in call
    assert call["ttl"] == "600"
    assert dynadot_here.zone("omani.works") == [
        FakeRecord("", "mx", "mx.omani.works", "10"),
        FakeRecord("www", "cname", "omani.works"),
    ]


async def test_replace_zone_refuses_an_empty_record_set(
    http: httpx.AsyncClient, dynadot_here: FakeDynadot
) -> None:
    with pytest.raises(DynadotError, match="empty zone"):
        await client_for(http, dynadot_here).replace_zone("omani.works", [])
    assert dynadot_here.calls() == []


def test_dynadot_errors_are_not_httpx_errors() -> None:
    assert not issubclass(DynadotError, httpx.HTTPError)
