"""The flat-file record store (spec §4.4–4.5, §11 "Store")."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr

from catalyst_api.deployments.models import Deployment, DeploymentRequest, Result, Status
from catalyst_api.store import RecordStore, StoreError


def _deployment(**req: object) -> Deployment:
    request = DeploymentRequest(
        org_name="Acme",
        sovereign_fqdn="k8s.acme.example",
        region="fsn1",
        control_plane_size="cpx31",
        worker_size="cpx41",
        hetzner_token=SecretStr("hetzner-canary-0123456789"),
        **req,  # type: ignore[arg-type]
    )
    return Deployment(
        id="0123456789abcdef",
        status=Status.PROVISIONING,
        request=request,
        started_at=datetime(2026, 4, 29, 12, 57, 3, 418220, tzinfo=UTC),
        pdm_reservation_token="tok-1",
        kubeconfig_bearer_hash="ab" * 32,
    )


def test_redaction_replaces_secrets_with_marker_and_keeps_the_rest() -> None:
    dep = _deployment(
        dynadot_key=SecretStr("dynadot-key-canary"), dynadot_secret=SecretStr("dynadot-secret-c")
    )
    text = json.dumps(dep.to_record())
    assert "hetzner-canary" not in text
    assert "dynadot-key-canary" not in text
    assert "dynadot-secret-c" not in text
    request = dep.to_record()["request"]
    assert request["hetznerToken"] == "<redacted>"
    assert request["dynadotKey"] == "<redacted>"
    assert request["dynadotSecret"] == "<redacted>"
    assert request["sovereignFQDN"] == "k8s.acme.example"
    assert request["region"] == "fsn1"
    assert request["controlPlaneSize"] == "cpx31"
    assert request["workerSize"] == "cpx41"


def test_empty_dynadot_credentials_stay_absent() -> None:
    request = _deployment().to_record()["request"]
    assert "dynadotKey" not in request
    assert "dynadotSecret" not in request
    assert request["hetznerToken"] == "<redacted>"


def test_ghcr_token_and_bearer_never_serialized() -> None:
    dep = _deployment(ghcr_pull_token=SecretStr("ghcr-canary-value"))
    dep.bearer_token = SecretStr("bearer-canary-value")
    text = json.dumps(dep.to_record())
    assert "ghcr-canary-value" not in text
    assert "bearer-canary-value" not in text


def test_save_then_load_round_trips(tmp_path: Path) -> None:
    store = RecordStore(tmp_path / "deployments")
    assert store.open()
    dep = _deployment()
    dep.result = Result(sovereign_fqdn="k8s.acme.example", load_balancer_ip="203.0.113.20")
    store.save_sync(dep.id, dep.to_record())
    loaded = [Deployment.from_record(raw) for _, raw in store.iter_records(lambda p, w: None)]
    assert len(loaded) == 1
    back = loaded[0]
    assert back.id == dep.id
    assert back.status is Status.PROVISIONING
    assert back.started_at == dep.started_at
    assert back.result is not None and back.result.load_balancer_ip == "203.0.113.20"
    assert back.pdm_reservation_token == "tok-1"
    assert back.request.hetzner_token.get_secret_value() == "<redacted>"
    raw_text = (tmp_path / "deployments" / f"{dep.id}.json").read_text()
    assert '"hetznerToken": "<redacted>"' in raw_text  # literal marker, indented, not escaped
    assert raw_text.endswith("}\n")


def test_repeated_saves_keep_one_file_with_the_latest_content(tmp_path: Path) -> None:
    store = RecordStore(tmp_path)
    store.open()
    dep = _deployment()
    for status in (Status.PROVISIONING, Status.PHASE1_WATCHING, Status.READY):
        dep.status = status
        store.save_sync(dep.id, dep.to_record())
    files = [p for p in tmp_path.iterdir() if p.suffix == ".json"]
    assert len(files) == 1
    assert json.loads(files[0].read_text())["status"] == "ready"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_records_and_directory_are_private(tmp_path: Path) -> None:
    directory = tmp_path / "deployments"
    store = RecordStore(directory)
    store.open()
    dep = _deployment()
    store.save_sync(dep.id, dep.to_record())
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE((directory / f"{dep.id}.json").stat().st_mode) == 0o600


def test_load_skips_invalid_files_and_reports_them(tmp_path: Path) -> None:
    store = RecordStore(tmp_path)
    store.open()
    dep = _deployment()
    store.save_sync(dep.id, dep.to_record())
    (tmp_path / "broken.json").write_text("{ not json")
    (tmp_path / "noid.json").write_text('{"status": "ready"}')
    (tmp_path / ".hidden.json").write_text("{ also broken")
    (tmp_path / "notes.txt").write_text("not a record")
    (tmp_path / "sub.json").mkdir()
    reported: list[str] = []
    ids = [raw["id"] for _, raw in store.iter_records(lambda p, why: reported.append(p.name))]
    assert ids == [dep.id]
    assert sorted(reported) == ["broken.json", "noid.json"]


def test_store_on_an_unusable_directory_reports_not_writable(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    store = RecordStore(blocker / "deployments")
    assert store.open() is False
    assert store.writable is False
    assert store.problem and "not writable" in store.problem


@pytest.mark.parametrize("bad", ["../escape", "a/b", "..", ".", "a\\b", ""])
def test_path_rejects_unsafe_ids(tmp_path: Path, bad: str) -> None:
    store = RecordStore(tmp_path)
    with pytest.raises(StoreError):
        store.path_for(bad)
