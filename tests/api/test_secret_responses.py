"""Responses that carry secrets (issue 10): a destroyed deployment's kubeconfig is deleted and
its download answers 410; the kubeconfig download and a generated private key are never
`Access-Control-Allow-Origin: *`, whatever `CORS_ORIGIN` is, and always `no-store`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from support.waiting import wait_for, wait_status

pytestmark = pytest.mark.timeout(60)  # full runs per case; the default is 15 s

Body = Callable[..., dict[str, Any]]
WIZARD = "https://wizard.example"
EVIL = "https://evil.example"


def test_destroy_deletes_the_kubeconfig_and_its_download_answers_410(
    make_settings, start_server, scripted_overrides, body: Body, data_root: Path
) -> None:  # type: ignore[no-untyped-def]
    cache_dir = data_root / "k8scache-kubeconfigs"
    server = start_server(
        make_settings(CATALYST_K8SCACHE_KUBECONFIGS_DIR=str(cache_dir)), scripted_overrides()
    )
    dep = httpx.post(f"{server.url}/api/v1/deployments", json=body()).json()["id"]
    wait_status(server.url, dep, {"ready"})
    kubeconfig = data_root / "kubeconfigs" / f"{dep}.yaml"
    assert kubeconfig.exists()
    cache_dir.mkdir(mode=0o700)
    (cache_dir / f"{dep}.yaml").write_bytes(kubeconfig.read_bytes())  # the k8scache's copy
    assert httpx.get(f"{server.url}/api/v1/deployments/{dep}/kubeconfig").status_code == 200

    assert httpx.delete(f"{server.url}/api/v1/deployments/{dep}").status_code == 202
    wait_status(server.url, dep, {"destroyed"})

    assert not kubeconfig.exists()
    assert not (cache_dir / f"{dep}.yaml").exists()
    gone = httpx.get(f"{server.url}/api/v1/deployments/{dep}/kubeconfig")
    assert gone.status_code == 410
    assert gone.json() == {
        "error": "deployment-destroyed",
        "detail": "this deployment was destroyed; its kubeconfig was deleted with the cluster",
    }


def _secret_responses(server, body: Body) -> list[Callable[[dict[str, str]], httpx.Response]]:  # type: ignore[no-untyped-def]
    dep = httpx.post(f"{server.url}/api/v1/deployments", json=body()).json()["id"]
    wait_status(server.url, dep, {"ready"})
    wait_for(
        lambda: httpx.get(f"{server.url}/api/v1/deployments/{dep}/kubeconfig").status_code == 200
    )
    return [
        lambda h: httpx.get(f"{server.url}/api/v1/deployments/{dep}/kubeconfig", headers=h),
        lambda h: httpx.post(f"{server.url}/api/v1/sshkey/generate", json={}, headers=h),
        # control: an ordinary response of the same deployment
        lambda h: httpx.get(f"{server.url}/api/v1/deployments/{dep}", headers=h),
    ]


@pytest.mark.parametrize("cors_origin", [None, "*", WIZARD], ids=["unset", "star", "origin"])
def test_secret_responses_are_never_cors_wildcarded_and_never_cached(
    cors_origin: str | None, make_settings, start_server, scripted_overrides, body: Body
) -> None:  # type: ignore[no-untyped-def]
    env = {} if cors_origin is None else {"CORS_ORIGIN": cors_origin}
    server = start_server(make_settings(**env), scripted_overrides())
    kubeconfig, sshkey, ordinary = _secret_responses(server, body)

    for request_origin in (WIZARD, EVIL):
        headers = {"Origin": request_origin}
        for call in (kubeconfig, sshkey):
            resp = call(headers)
            assert resp.status_code == 200, resp.text
            assert resp.headers["cache-control"] == "no-store"
            assert "x-catalyst-secret" not in resp.headers
            allow = resp.headers.get("access-control-allow-origin")
            assert allow != "*"
            if cors_origin == WIZARD and request_origin == WIZARD:
                assert allow == WIZARD
                assert "Origin" in resp.headers["vary"]
            else:
                assert allow is None
        control = ordinary(headers).headers.get("access-control-allow-origin")
        if cors_origin == WIZARD:
            assert control == (WIZARD if request_origin == WIZARD else None)
        else:
            assert control == "*"  # the original's CORS for everything else is unchanged
    assert "PRIVATE KEY" in sshkey({}).text  # what makes it a secret-bearing response
