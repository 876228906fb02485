"""Fixtures for the CLI client tests: run `deployments_main` in-process with captured output,
and write create-request files."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from catalyst_api.client import deployments_main


class TerminalOutput(io.StringIO):
    """A captured stdout that claims to be a terminal (selects the live rich view)."""

    def isatty(self) -> bool:
        return True


@dataclass
class CliRun:
    code: int
    out: str
    err: str

    def seqs(self) -> list[int]:
        """The `#<seq>` of every plain event line, in print order."""
        return [
            int(line[1:].split(" ", 1)[0])
            for line in self.out.splitlines()
            if line[:2] != "#-" and line.startswith("#")
        ]


@pytest.fixture
def run_cli() -> Callable[..., CliRun]:
    """`run_cli(url, *argv, env={...}, tty=False, stdin=None)` → exit code and captured
    stdout/stderr; `stdin` is the text standard input holds."""

    def run(
        url: str | None,
        *argv: str,
        env: dict[str, str] | None = None,
        tty: bool = False,
        stdin: str | None = None,
    ) -> CliRun:
        environ = {"CATALYST_API_URL": url} if url else {}
        environ.update(env or {})
        out: io.StringIO = TerminalOutput() if tty else io.StringIO()
        err = io.StringIO()
        inp = io.StringIO(stdin) if stdin is not None else None
        code = deployments_main(list(argv), environ=environ, stdout=out, stderr=err, stdin=inp)
        return CliRun(code, out.getvalue(), err.getvalue())

    return run


@pytest.fixture
def request_file(tmp_path: Path, body: Callable[..., dict[str, Any]]) -> Callable[..., Path]:
    """Writes a create request (the suite's valid BYO body plus overrides) to a JSON file."""
    counter = iter(range(1_000_000))

    def write(**overrides: Any) -> Path:
        path = tmp_path / f"request-{next(counter)}.json"
        path.write_text(json.dumps(body(**overrides)))
        return path

    return write
