"""Planted secrets never reach a log line, an API response or a file other than the
kubeconfig (DESIGN "Quality bar")."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from support.waiting import wait_status

Body = Callable[..., dict[str, Any]]

HETZNER = "hetzner-canary-" + "7" * 49
GHCR = "ghcr-canary-8f8f8f8f8f"
DYNADOT_KEY = "dynadot-key-canary-3c3c"
DYNADOT_SECRET = "dynadot-secret-canary-4d4d"
KUBE_TOKEN = "kube-token-canary-5e5e"


def test_canary_secrets_appear_nowhere(
    make_settings, start_server, scripted_overrides, body: Body, data_root: Path, log_text
) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(
        CATALYST_GHCR_PULL_TOKEN=GHCR,
        DYNADOT_API_KEY=DYNADOT_KEY,
        DYNADOT_API_SECRET=DYNADOT_SECRET,
    )
    overrides = scripted_overrides()
    overrides.provisioner.kubeconfig = f"users:\n- user:\n    token: {KUBE_TOKEN}\n".encode()
    server = start_server(settings, overrides)
    byo = httpx.post(f"{server.url}/api/v1/deployments", json=body(hetznerToken=HETZNER))
    assert byo.status_code == 201
    pool = httpx.post(
        f"{server.url}/api/v1/deployments",
        json=body(
            hetznerToken=HETZNER,
            sovereignFQDN="canary.omani.works",
            sovereignDomainMode="pool",
            sovereignPoolDomain="omani.works",
            sovereignSubdomain="canary",
        ),
    )
    assert pool.status_code == 201
    responses = [byo.text, pool.text]
    for dep in (byo.json()["id"], pool.json()["id"]):
        wait_status(server.url, dep, {"ready", "failed"})
        bearer = server.call(
            lambda d=dep: server.services.deployments.get(d).bearer_token.get_secret_value()
        )
        for path in ("", "/events"):
            responses.append(httpx.get(f"{server.url}/api/v1/deployments/{dep}{path}").text)
        responses.append(httpx.get(f"{server.url}/api/v1/deployments").text)
        responses.append(httpx.get(f"{server.url}/metrics").text)
        secrets = (HETZNER, GHCR, DYNADOT_KEY, DYNADOT_SECRET, bearer)
        for text in responses:
            for secret in secrets:
                assert secret not in text
    server.run(server.services.eventlog.flush())
    server.stop()

    logs = log_text()
    for secret in (HETZNER, GHCR, DYNADOT_KEY, DYNADOT_SECRET, KUBE_TOKEN):
        assert secret not in logs
    kubeconfig_dir = data_root / "kubeconfigs"
    for path in data_root.rglob("*"):
        if not path.is_file() or path.parent == kubeconfig_dir:
            continue
        content = path.read_bytes()
        for secret in (HETZNER, GHCR, DYNADOT_KEY, DYNADOT_SECRET, KUBE_TOKEN):
            assert secret.encode() not in content, f"{secret[:12]}… found in {path}"
