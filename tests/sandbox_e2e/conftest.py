"""Fixtures: a real `catalyst-api serve --sandbox` process per test, or one per module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox_e2e.harness import SandboxFactory, SandboxProcess, sandbox_factory, start_sandbox


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxFactory]:
    """Start sandbox servers for one test: `sandbox("--sandbox-fail", "x", speed=…)`."""
    yield from sandbox_factory(tmp_path)


@pytest.fixture(scope="module")
def shared_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxProcess]:
    """One sandbox server for the tests of a module."""
    yield from start_sandbox(tmp_path_factory.mktemp("shared"))
