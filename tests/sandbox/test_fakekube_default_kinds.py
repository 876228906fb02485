"""Every default kind of spec §6.4 (k8scache's registry, Flux kinds included) is discoverable,
listable and (where the real API allows it) watchable on the fake, as `catalyst-api fake-kube`
serves it (add-on APIs on)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import orjson
import pytest
import yaml

from catalyst_api.k8scache.kinds import DEFAULT_KINDS, Kind
from catalyst_sandbox.fakekube import FakeKubeServer
from catalyst_sandbox.fakekube.state import FakeKubeState

TOKEN = "t0ken"
NOT_WATCHABLE = {"podmetrics"}
"""metrics.k8s.io is served by metrics-server: get and list only, watch is a 405 there too."""


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with (
        FakeKubeServer(token=TOKEN, state=FakeKubeState(addons=True)) as kube,
        httpx.AsyncClient(
            base_url=kube.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5
        ) as client,
    ):
        yield client


def _base(kind: Kind) -> str:
    return f"/apis/{kind.group}/{kind.version}" if kind.group else "/api/v1"


def _list_path(kind: Kind) -> str:
    ns = "/namespaces/default" if kind.namespaced else ""
    return f"{_base(kind)}{ns}/{kind.resource}"


@pytest.mark.parametrize("kind", DEFAULT_KINDS, ids=lambda k: k.name)
async def test_default_kind_is_discoverable_listable_and_watchable(
    http: httpx.AsyncClient, kind: Kind
) -> None:
    resources = (await http.get(_base(kind))).json()["resources"]
    entry = next(r for r in resources if r["name"] == kind.resource)
    assert entry["namespaced"] == kind.namespaced
    assert {"get", "list"} <= set(entry["verbs"])
    if kind.group:
        groups = {g["name"] for g in (await http.get("/apis")).json()["groups"]}
        assert kind.group in groups

    listed = await http.get(_list_path(kind))
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert body["kind"] == f"{entry['kind']}List"
    assert isinstance(body["items"], list)
    rv = body["metadata"]["resourceVersion"]
    assert (await http.get(f"{_base(kind)}/{kind.resource}")).status_code == 200  # all namespaces

    params = {"watch": "1", "resourceVersion": rv, "timeoutSeconds": "1"}
    if kind.name in NOT_WATCHABLE:
        assert "watch" not in entry["verbs"]
        assert (await http.get(_list_path(kind), params=params)).status_code == 405
        return
    assert "watch" in entry["verbs"]
    api_version = f"{kind.group}/{kind.version}" if kind.group else kind.version
    obj = {
        "apiVersion": api_version,
        "kind": entry["kind"],
        "metadata": {"name": "probe"},
    }
    async with http.stream("GET", _list_path(kind), params=params) as stream:
        assert stream.status_code == 200
        created = await http.post(_list_path(kind), json=obj)
        assert created.status_code == 201, created.text
        async for line in stream.aiter_lines():
            event = orjson.loads(line)
            assert event["type"] == "ADDED"
            assert event["object"]["metadata"]["name"] == "probe"
            break


def test_the_cli_serves_every_default_kind(tmp_path: Path) -> None:
    """`catalyst-api fake-kube` is what kubectl users point at: it serves the add-on APIs; a
    bare `FakeKubeState` serves only what a bare kube-apiserver (+ Flux) does."""
    out = tmp_path / "kc.yaml"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "catalyst_sandbox.fakekube",
            "--kubeconfig-out",
            str(out),
            "--no-tls",
            "--token",
            TOKEN,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == str(out)
        server = yaml.safe_load(out.read_text())["clusters"][0]["cluster"]["server"]
        headers = {"Authorization": f"Bearer {TOKEN}"}
        for kind in DEFAULT_KINDS:
            got = httpx.get(f"{server}{_list_path(kind)}", headers=headers)
            assert got.status_code == 200, (kind.name, got.text)
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
    bare = FakeKubeState()
    assert bare.lookup("vcluster.com", "v1alpha1", "vclusters") is None
    assert bare.lookup("apps", "v1", "statefulsets") is not None
