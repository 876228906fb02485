"""Issue 15 acceptance: what authentication costs. Three real server processes in the same run,
on the same data (one finished deployment with 50 events, owned by the caller): `open` mode,
and `required` mode called with an API token and with an OIDC JWT (RS256, issuer on loopback).
Measured, interleaved in rounds so drift hits every mode alike:

- `GET /api/v1/deployments/{id}` on a kept-alive connection (median latency);
- SSE connect: a new connection to `GET .../logs` until its first bytes arrive (median).

Target: each authenticated median <= 1.2 x the `open` one.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import orjson

from bench._serving import ROOT, server_process

sys.path.insert(0, str(ROOT / "tests"))  # the tests' local OIDC issuer (support/oidc.py)
from catalyst_api.auth import Role
from catalyst_api.auth.startup import mint_into
from support.oidc import oidc_issuer

ROUNDS = 10
GETS_PER_ROUND = 100
CONNECTS_PER_ROUND = 20
TARGET = 1.2
DEP = "00000000000000b1"
OWNER = "bench-op"
SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINQ2isn9K2RxPIA4Uah/wKbj6HoeJ6s0nKEqKznu4icu bench@x"


def _seed(data: Path) -> None:
    deployments = data / "deployments"
    deployments.mkdir(parents=True)
    record = {
        "id": DEP,
        "status": "failed",
        "request": {
            "orgName": "bench",
            "orgEmail": "b@bench.example",
            "sovereignFQDN": "auth.bench.example",
            "sovereignDomainMode": "byo",
            "hetznerToken": "<redacted>",
            "hetznerProjectID": "1",
            "region": "fsn1",
            "controlPlaneSize": "cpx31",
            "workerCount": 0,
            "sshPublicKey": SSH_KEY,
        },
        "error": "bench: generated",
        "startedAt": "2026-01-01T00:00:00Z",
        "finishedAt": "2026-01-01T01:00:00Z",
        "failureStage": "phase0",
        "owner": OWNER,
    }
    (deployments / f"{DEP}.json").write_bytes(orjson.dumps(record))
    events = b"".join(
        b'{"time":"2026-01-01T00:00:00Z","phase":"tofu","level":"info","message":"e%d","seq":%d}\n'
        % (i, i)
        for i in range(1, 51)
    )
    (deployments / f"{DEP}.events.jsonl").write_bytes(events)


def _gets(base: str, headers: dict[str, str]) -> list[float]:
    out = []
    with httpx.Client(base_url=base, headers=headers, timeout=10) as client:
        for _ in range(GETS_PER_ROUND):
            start = time.perf_counter()
            resp = client.get(f"/api/v1/deployments/{DEP}")
            out.append(time.perf_counter() - start)
            assert resp.status_code == 200, resp.text
    return out


def _connects(base: str, headers: dict[str, str]) -> list[float]:
    url = urlsplit(base)
    auth = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    request = f"GET /api/v1/deployments/{DEP}/logs HTTP/1.1\r\nHost: b\r\n{auth}\r\n".encode()
    out = []
    for _ in range(CONNECTS_PER_ROUND):
        start = time.perf_counter()
        with socket.create_connection((url.hostname, url.port)) as sock:
            sock.sendall(request)
            first = sock.recv(1 << 16)
            out.append(time.perf_counter() - start)
            assert first.startswith(b"HTTP/1.1 200"), first[:200]
    return out


def main() -> bool:
    tmp = Path(tempfile.mkdtemp(prefix="bench-auth-"))
    try:
        with contextlib.ExitStack() as stack:
            issuer = stack.enter_context(oidc_issuer())
            tokens_file = tmp / "tokens"
            token = mint_into(tokens_file, OWNER, Role.OPERATOR)
            jwt = issuer.sign(preferred_username=OWNER, groups=["catalyst-operator"], exp=2**31)
            servers: dict[str, tuple[str, dict[str, str]]] = {}
            for mode in ("open", "token", "jwt"):
                data = tmp / mode
                _seed(data)
                args = [str(data)]
                if mode != "open":
                    args += [str(tokens_file), issuer.url, issuer.audience]
                base, _, _ = stack.enter_context(server_process("_auth_server", *args))
                bearer = {"token": token, "jwt": jwt}.get(mode)
                servers[mode] = (base, {"Authorization": f"Bearer {bearer}"} if bearer else {})
            gets: dict[str, list[float]] = {m: [] for m in servers}
            connects: dict[str, list[float]] = {m: [] for m in servers}
            for base, headers in servers.values():  # warm-up (JWKS fetch, caches)
                _gets(base, headers)
                _connects(base, headers)
            for _ in range(ROUNDS):
                for mode, (base, headers) in servers.items():
                    gets[mode] += _gets(base, headers)
                    connects[mode] += _connects(base, headers)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    ok = True
    for label, samples in (("GET deployment", gets), ("SSE connect", connects)):
        base_ms = statistics.median(samples["open"]) * 1000
        print(f"{label}: open p50 {base_ms:.3f} ms")
        for mode in ("token", "jwt"):
            ms = statistics.median(samples[mode]) * 1000
            ratio = ms / base_ms
            ok &= ratio <= TARGET
            verdict = "ok" if ratio <= TARGET else f"over {TARGET}x"
            print(f"  {mode:5s} p50 {ms:.3f} ms  ratio {ratio:.2f}x  ({verdict})")
    return ok


if __name__ == "__main__":
    raise SystemExit(0 if main() else 1)
