"""The README's quick start, executed as written: `make run`, then the client command, then
the curl alternative (each against a fresh sandbox, since both create the same example)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import yaml

pytestmark = pytest.mark.timeout(180)  # the README's commands against a real sandbox

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BLOCK = re.compile(r"```sh\n(.*?)```", re.S)


def _blocks() -> list[list[str]]:
    blocks = []
    for body in BLOCK.findall(README.read_text()):
        lines = [line.split("  #")[0].strip() for line in body.strip().splitlines()]
        blocks.append([line for line in lines if line])
    return blocks


def _port_8080_free() -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", 8080))
        except OSError:
            return False
    return True


@contextmanager
def _make_run(data: Path, port: int) -> Iterator[str]:
    """`make run` exactly as documented (PORT/DATA are the Makefile's documented knobs)."""
    env = dict(os.environ, CATALYST_SANDBOX_SPEED="20")
    proc = subprocess.Popen(
        ["make", "run", f"PORT={port}", f"DATA={data}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, "make run exited"
            assert time.monotonic() < deadline, "make run did not start serving"
            time.sleep(0.2)
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)


def _shell(line: str, cwd: Path, env: dict[str, str], timeout: float = 240) -> str:
    done = subprocess.run(
        line, shell=True, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"{line}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    return done.stdout


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A directory that looks like the checkout to the documented relative paths."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "examples").symlink_to(ROOT / "examples")
    (work / ".venv").symlink_to(ROOT / ".venv")
    return work


def test_readme_starts_with_the_two_commands() -> None:
    first = _blocks()[0]
    assert [line.split()[:2] for line in first] == [["make", "run"], ["make", "test"]]


def test_quick_start_commands_work_as_documented(tmp_path: Path, workdir: Path) -> None:
    blocks = _blocks()
    client_block = next(b for b in blocks if any("deployments create" in line for line in b))
    curl_block = next(b for b in blocks if any(line.startswith("curl") for line in b))
    port = 8080 if _port_8080_free() else 18080
    env = dict(os.environ, CATALYST_API_URL=f"http://127.0.0.1:{port}")

    def adapt(line: str) -> str:
        return line if port == 8080 else line.replace("localhost:8080", f"localhost:{port}")

    with _make_run(tmp_path / "data-client", port) as base:
        for line in client_block:
            _shell(adapt(line), workdir, env)
        listing = httpx.get(f"{base}/api/v1/deployments").json()["deployments"]
        assert [d["status"] for d in listing] == ["ready"]
        assert len(listing[0]["componentStates"]) == 11

    with _make_run(tmp_path / "data-curl", port):
        created = _shell(adapt(curl_block[0]), workdir, env)
        dep_id = httpx.Response(200, content=created.encode()).json()["id"]
        stream = _shell(adapt(curl_block[1]).replace("<id>", dep_id), workdir, env)
        assert "event: done" in stream
        done = stream.split("event: done\ndata: ", 1)[1].splitlines()[0]
        assert '"status":"ready"' in done
        _shell(adapt(curl_block[2]).replace("<id>", dep_id), workdir, env)
        assert yaml.safe_load((workdir / "sov.yaml").read_text())["kind"] == "Config"
        listing = _shell(curl_block[3], workdir, env)
        assert len([ln for ln in listing.splitlines() if "bp-" in ln]) == 11
