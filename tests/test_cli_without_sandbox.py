"""The product binary without the sandbox installed: `--sandbox` and `fake-kube` are refused
with a clear message, before anything is served or logged."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from catalyst_api import cli


@pytest.fixture
def no_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the sandbox package unimportable, as in the production image."""
    for name in [m for m in sys.modules if m.startswith(f"{cli.SANDBOX_PACKAGE}.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, cli.SANDBOX_PACKAGE, None)


def _refusal(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.startswith("catalyst-api: the sandbox is not installed")
    assert "make install" in err
    return err


@pytest.mark.usefixtures("no_sandbox")
def test_serve_sandbox_is_refused_with_a_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["serve", "--sandbox", "--data-dir", str(tmp_path), "--port", "0"]) == 2
    assert "--sandbox" in _refusal(capsys)


@pytest.mark.usefixtures("no_sandbox")
def test_the_sandbox_switched_on_by_the_environment_is_refused_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CATALYST_SANDBOX", "true")
    assert cli.main(["serve", "--data-dir", str(tmp_path), "--port", "0"]) == 2
    assert "CATALYST_SANDBOX=true" in _refusal(capsys)


@pytest.mark.usefixtures("no_sandbox")
def test_fake_kube_is_refused_with_a_clear_message(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["fake-kube", "--port", "0"]) == 2
    assert "fake-kube" in _refusal(capsys)


def test_a_missing_dependency_inside_the_sandbox_is_not_reported_as_a_missing_sandbox(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(name: str) -> None:
        raise ModuleNotFoundError("No module named 'some_dependency'", name="some_dependency")

    monkeypatch.setattr(cli.importlib, "import_module", broken)
    with pytest.raises(ModuleNotFoundError, match="some_dependency"):
        cli.main(["fake-kube", "--port", "0"])
