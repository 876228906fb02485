"""Auth settings (bad combinations stop startup naming the variable), the tokens file (hashes
only, reloaded on change), `catalyst-api tokens create`, the open-mode warning, the sandbox's
minted admin token, and the CLI client's `--token` / CATALYST_API_TOKEN."""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import stat
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import httpx
import pytest

from catalyst_api.auth import Role, TokenFile
from catalyst_api.auth.startup import mint_into, open_mode_warning
from catalyst_api.auth.tokens import TokenFileError
from catalyst_api.cli import _sandbox_admin_token, main
from catalyst_api.client import deployments_main
from catalyst_api.client.infra import infra_main
from catalyst_api.config import ConfigError, Settings
from support.waiting import wait_for


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"CATALYST_AUTH_MODE": "closed"}, "CATALYST_AUTH_MODE"),
        ({"CATALYST_AUTH_MODE": "required"}, "CATALYST_AUTH_MODE"),
        ({"CATALYST_AUTH_TRUSTED_PROXIES": "10.0.0.0/8,nonsense"}, "CATALYST_AUTH_TRUSTED_PROXIES"),
        (
            {"CATALYST_AUTH_OIDC_ISSUER": "http://idp.example", "CATALYST_AUTH_OIDC_AUDIENCE": "a"},
            "CATALYST_AUTH_OIDC_ISSUER",
        ),
        ({"CATALYST_AUTH_OIDC_ISSUER": "https://idp.example"}, "CATALYST_AUTH_OIDC_AUDIENCE"),
    ],
)
def test_bad_combinations_stop_startup_naming_the_variable(env, named: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match=named):
        Settings.from_env(env)


def test_good_combinations() -> None:
    assert Settings.from_env({}).auth_mode == "open"
    loopback = Settings.from_env(
        {
            "CATALYST_AUTH_MODE": "required",
            "CATALYST_AUTH_OIDC_ISSUER": "http://127.0.0.1:9999/realms/x/",
            "CATALYST_AUTH_OIDC_AUDIENCE": "catalyst-api",
        }
    )
    assert loopback.auth_oidc_issuer == "http://127.0.0.1:9999/realms/x"
    proxies = Settings.from_env(
        {"CATALYST_AUTH_MODE": "required", "CATALYST_AUTH_TRUSTED_PROXIES": "10.0.0.0/8, ::1/128"}
    )
    assert proxies.auth_mode == "required"


def test_tokens_file_holds_hashes_and_is_reloaded_when_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "tokens"
    first = mint_into(path, "ann", Role.VIEWER)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert first not in path.read_text()
    assert hashlib.sha256(first.encode()).hexdigest() in path.read_text()
    tokens = TokenFile(path)
    principal = tokens.lookup(first)
    assert principal is not None and (principal.name, principal.role) == ("ann", Role.VIEWER)
    assert tokens.lookup(first + "x") is None
    second = mint_into(path, "ben", Role.ADMIN)
    found = wait_for(lambda: tokens.lookup(second))
    assert found.name == "ben" and found.is_admin
    # a broken update keeps the last good tokens
    path.write_text(path.read_text() + "not a valid line\n")
    assert tokens.lookup(second) is not None
    with pytest.raises(TokenFileError, match="CATALYST_AUTH_TOKENS_FILE"):
        TokenFile(path)


def test_a_new_token_line_is_honoured_by_a_running_server(realm) -> None:  # type: ignore[no-untyped-def]
    token = mint_into(realm.tokens_file, "late", Role.VIEWER)
    wait_for(
        lambda: (
            httpx.get(
                f"{realm.url}/api/v1/deployments", headers={"Authorization": f"Bearer {token}"}
            ).status_code
            == 200
        )
    )


def test_tokens_create_prints_the_token_once_and_a_working_line(tmp_path: Path) -> None:
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["tokens", "create", "ci-bot", "--role", "operator"]) == 0
    lines = out.getvalue().splitlines()
    token = lines[0].rsplit(" ", 1)[1]
    path = tmp_path / "tokens"
    path.write_text(lines[-1] + "\n")
    found = TokenFile(path).lookup(token)
    assert found is not None and (found.name, found.role) == ("ci-bot", Role.OPERATOR)


def test_serve_refuses_required_without_a_source(tmp_path: Path) -> None:
    err = io.StringIO()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CATALYST_AUTH")}
    with redirect_stderr(err), pytest.MonkeyPatch.context() as mp:
        mp.setattr(os, "environ", env)
        code = main(["serve", "--auth", "required", "--data-dir", str(tmp_path)])
    assert code == 2
    assert "CATALYST_AUTH_MODE=required needs a source of principals" in err.getvalue()


def test_open_mode_warns_once_off_loopback_only() -> None:
    settings = Settings.from_env({})
    warning = open_mode_warning(settings, "0.0.0.0")
    assert warning is not None and "CATALYST_AUTH_MODE" in warning and "kubeconfig" in warning
    assert open_mode_warning(settings, "127.0.0.1") is None
    assert open_mode_warning(settings, "::1") is None
    required = Settings.from_env(
        {"CATALYST_AUTH_MODE": "required", "CATALYST_AUTH_TRUSTED_PROXIES": "10.0.0.0/8"}
    )
    assert open_mode_warning(required, "0.0.0.0") is None


def test_sandbox_required_mints_an_admin_token_into_the_data_dir(tmp_path: Path) -> None:
    environ: dict[str, str] = {}
    err = io.StringIO()
    args = argparse.Namespace(data_dir=str(tmp_path), host="127.0.0.1", port=8080)
    with redirect_stderr(err):
        _sandbox_admin_token(environ, args)
    path = Path(environ["CATALYST_AUTH_TOKENS_FILE"])
    assert path.parent == tmp_path and stat.S_IMODE(path.stat().st_mode) == 0o600
    token = err.getvalue().split("CATALYST_API_TOKEN=", 1)[1].split()[0]
    found = TokenFile(path).lookup(token)
    assert found is not None and found.is_admin


def test_the_cli_client_sends_its_token(realm) -> None:  # type: ignore[no-untyped-def]
    def run(*argv: str, env: dict[str, str]) -> tuple[int, str]:
        out, err = io.StringIO(), io.StringIO()
        code = deployments_main(
            list(argv), environ={"CATALYST_API_URL": realm.url, **env}, stdout=out, stderr=err
        )
        return code, out.getvalue() + err.getvalue()

    code, text = run("list", env={})
    assert code == 1 and "401" in text
    assert run("list", env={"CATALYST_API_TOKEN": realm.tokens["viewer"]})[0] == 0
    assert run("list", "--token", realm.tokens["viewer"], env={})[0] == 0


def test_the_infra_client_sends_its_token(realm) -> None:  # type: ignore[no-untyped-def]
    """`catalyst-api infra` takes `--token` / CATALYST_API_TOKEN like the other clients: without
    it the required-mode server answers 401 (exit 1 with the answer), with it the route runs
    (here: 404 for an unknown deployment, which only an authenticated viewer reaches)."""

    def run(*argv: str, env: dict[str, str]) -> tuple[int, str]:
        out = io.StringIO()
        with redirect_stderr(out):
            code = infra_main(list(argv), env={"CATALYST_API_URL": realm.url, **env}, out=out)
        return code, out.getvalue()

    code, text = run("show", "nope", env={})
    assert code != 0 and ("401" in text or "unauthenticated" in text), text
    for argv, env in (
        (("--token", realm.tokens["viewer"], "show", "nope"), {}),
        (("show", "nope"), {"CATALYST_API_TOKEN": realm.tokens["viewer"]}),
    ):
        code, text = run(*argv, env=env)
        assert code != 0 and "deployment-not-found" in text, text
