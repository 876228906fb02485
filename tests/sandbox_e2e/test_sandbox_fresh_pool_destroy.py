"""A new user's first pool deployment in a fresh sandbox can be destroyed (the zone it was
written into held nothing else, which the DNS removal refuses to leave empty)."""

from __future__ import annotations

import httpx
import pytest

from sandbox_e2e.harness import SandboxFactory, example_body

pytestmark = pytest.mark.timeout(180)  # a real sandbox server running OpenTofu; the default is 15 s


def _zone(url: str, domain: str) -> list[dict[str, str]]:
    response = httpx.get(
        f"{url}/sandbox/dynadot/api3.json",
        params={
            "key": "sandbox-dynadot-key",
            "secret": "sandbox-dynadot-secret",
            "command": "get_dns",
            "domain": domain,
        },
        timeout=10,
    )
    response.raise_for_status()
    dns = response.json()["GetDnsResponse"]["GetDns"]["NameServerSettings"]
    return [*dns.get("MainDomains", []), *dns.get("SubDomains", [])]


def test_the_first_pool_deployment_of_a_fresh_sandbox_is_destroyed(
    sandbox: SandboxFactory,
) -> None:
    server = sandbox()
    dep = server.create(example_body())
    assert server.follow(dep)[-1]["status"] == "ready"
    response = httpx.delete(f"{server.url}/api/v1/deployments/{dep}", timeout=10)
    assert response.status_code == 202, response.text

    final = server.follow(dep)[-1]
    assert final["status"] == "destroyed", final.get("error")
    zone = _zone(server.url, "omani.works")
    assert zone, "the pool domain's own records stay"
    assert not any("acme" in str(record.get("Subhost", "")) for record in zone)
