"""`numEvents` on the list page comes from the event logs' index: right on a store written
before the index existed, after a restart that reads the saved sidecars, and when a log grew
behind a stale sidecar; `GET /events` and the SSE replay agree with it (issue 11)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson

from support.waiting import read_sse

SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINQ2isn9K2RxPIA4Uah/wKbj6HoeJ6s0nKEqKznu4icu t@x"


def _write_store(directory: Path, counts: dict[str, int]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for n, (dep, count) in enumerate(counts.items()):
        record = {
            "id": dep,
            "status": "failed",
            "request": {
                "orgName": "t",
                "orgEmail": "t@example.com",
                "sovereignFQDN": f"c{n}.example.com",
                "sovereignDomainMode": "byo",
                "hetznerToken": "<redacted>",
                "hetznerProjectID": "1",
                "region": "fsn1",
                "controlPlaneSize": "cpx31",
                "workerCount": 0,
                "haEnabled": False,
                "sshPublicKey": SSH_KEY,
            },
            "error": "generated",
            "startedAt": f"2026-01-01T00:00:{n:02d}Z",
            "finishedAt": "2026-01-01T01:00:00Z",
        }
        (directory / f"{dep}.json").write_bytes(orjson.dumps(record))
        _append(directory, dep, 1, count)


def _append(directory: Path, dep: str, first: int, last: int) -> None:
    with (directory / f"{dep}.events.jsonl").open("ab") as f:
        for seq in range(first, last + 1):
            f.write(orjson.dumps({"phase": "tofu", "message": f"line {seq}", "seq": seq}) + b"\n")


def _counts(url: str) -> dict[str, int]:
    page = httpx.get(f"{url}/api/v1/deployments", params={"limit": 500}, timeout=30).json()
    return {d["id"]: d["numEvents"] for d in page["deployments"]}


def test_num_events_is_right_before_and_after_a_restart_and_after_growth(
    make_settings: Callable[..., Any],
    start_server: Callable[..., Any],
    scripted_overrides: Callable[..., Any],
    data_root: Path,
) -> None:
    directory = data_root / "deployments"
    counts = {f"{n:016x}": 1 + n * 97 for n in range(1, 41)}
    counts[f"{99:016x}"] = 10_050  # beyond the 10,000-event buffer: numEvents stops there
    _write_store(directory, counts)
    settings = make_settings()
    expected = {dep: min(count, 10_000) for dep, count in counts.items()}

    first = start_server(settings, scripted_overrides())
    assert _counts(first.url) == expected
    first.stop()
    assert (directory / f"{1:016x}.events.idx").exists()  # saved at shutdown

    # A log that grew behind its sidecar (another writer, or a crash before the next save).
    grown = f"{3:016x}"
    _append(directory, grown, counts[grown] + 1, counts[grown] + 5)
    expected[grown] += 5
    second = start_server(settings, scripted_overrides())
    assert _counts(second.url) == expected
    events = httpx.get(f"{second.url}/api/v1/deployments/{grown}/events", timeout=30).json()
    assert [e["seq"] for e in events["events"]] == list(range(1, expected[grown] + 1))
    assert events["state"]["numEvents"] == expected[grown]
    frames = read_sse(second.url, grown)
    assert [f[1] for f in frames if f[0] != "done"][-1] == str(expected[grown])
    big = f"{99:016x}"
    replay = httpx.get(f"{second.url}/api/v1/deployments/{big}/events", timeout=30).json()
    assert [e["seq"] for e in replay["events"]][:1] == [51]
    assert len(replay["events"]) == 10_000
