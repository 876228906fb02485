"""Settings: names and defaults of the original, empty = unset, bad values stop startup."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from catalyst_api.config import ConfigError, Settings, format_go_duration, parse_go_duration
from catalyst_api.configdoc import render_table, replace_table

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "tests" / "fixtures" / "seed-api-deployment.yaml"

SPEC_SECTION_2 = {
    "PORT": "8080",
    "CORS_ORIGIN": "*",
    "CATALYST_DEPLOYMENTS_DIR": "/var/lib/catalyst/deployments",
    "CATALYST_KUBECONFIGS_DIR": "/var/lib/catalyst/kubeconfigs",
    "CATALYST_EXECUTIONS_DIR": "/var/lib/catalyst/executions",
    "CATALYST_TOFU_MODULE_PATH": "/infra/hetzner",
    "CATALYST_TOFU_WORKDIR": "/var/lib/catalyst/tofu",
    "CATALYST_GITOPS_REPO_URL": "https://github.com/openova-io/openova",
    "CATALYST_GITOPS_BRANCH": "main",
    "CATALYST_API_PUBLIC_URL": "https://console.openova.io/sovereign",
    "CATALYST_K8SCACHE_KUBECONFIGS_DIR": "/var/lib/catalyst/kubeconfigs",
    "CATALYST_K8SCACHE_SNAPSHOT_DIR": "/var/cache/sov-cache",
    "CATALYST_K8SCACHE_KINDS_CONFIGMAP_NAMESPACE": "catalyst",
    "CATALYST_K8SCACHE_USER_HEADER": "X-Forwarded-User",
}


def _seed_env_names() -> set[str]:
    doc = yaml.safe_load(SEED.read_text())
    return {env["name"] for env in doc["spec"]["template"]["spec"]["containers"][0]["env"]}


def test_every_seed_deployment_variable_is_a_setting() -> None:
    assert _seed_env_names() <= set(Settings.env_names())


def test_spec_defaults_are_kept() -> None:
    settings = Settings.from_env({})
    names = Settings.env_names()
    for env, default in SPEC_SECTION_2.items():
        assert str(getattr(settings, names[env])) == default, env
    assert settings.phase1_watch_timeout == timedelta(minutes=60)
    assert settings.phase1_first_seen_timeout == timedelta(minutes=15)
    assert settings.phase1_min_bootstrap_kit_hrs == 11
    assert settings.kubeconfig_wait_timeout == timedelta(minutes=20)
    assert settings.tofu_timeout == timedelta(minutes=30)
    assert settings.pool_domain_manager_url == ""  # DESIGN item 8: embedded by default


def test_empty_values_count_as_unset() -> None:
    settings = Settings.from_env({"PORT": "", "CORS_ORIGIN": "  ", "CATALYST_TOFU_TIMEOUT": ""})
    assert settings.port == 8080
    assert settings.cors_origin == "*"
    assert settings.tofu_timeout == timedelta(minutes=30)


@pytest.mark.parametrize(
    ("env", "value"),
    [
        ("CATALYST_TOFU_TIMEOUT", "abc"),
        ("CATALYST_PHASE1_WATCH_TIMEOUT", "-5m"),
        ("CATALYST_KUBECONFIG_WAIT_TIMEOUT", "10"),
        ("PORT", "eighty"),
        ("CATALYST_PHASE1_MIN_BOOTSTRAP_KIT_HRS", "0"),
    ],
)
def test_invalid_values_fail_naming_the_variable(env: str, value: str) -> None:
    with pytest.raises(ConfigError) as err:
        Settings.from_env({env: value})
    assert env in str(err.value)


def test_secrets_are_masked_in_repr() -> None:
    settings = Settings.from_env(
        {"CATALYST_GHCR_PULL_TOKEN": "ghcr-canary-1", "DYNADOT_API_SECRET": "dyn-canary-2"}
    )
    assert "ghcr-canary-1" not in repr(settings)
    assert "dyn-canary-2" not in repr(settings)
    assert settings.ghcr_pull_token.get_secret_value() == "ghcr-canary-1"


@pytest.mark.parametrize(
    ("text", "seconds", "formatted"),
    [
        ("90m", 5400, "1h30m0s"),
        ("2h", 7200, "2h0m0s"),
        ("1h30m", 5400, "1h30m0s"),
        ("15m", 900, "15m0s"),
        ("500ms", 0.5, "500ms"),
        ("30s", 30, "30s"),
        ("1.5s", 1.5, "1.5s"),
    ],
)
def test_go_durations_parse_and_format(text: str, seconds: float, formatted: str) -> None:
    parsed = parse_go_duration(text)
    assert parsed.total_seconds() == seconds
    assert format_go_duration(parsed) == formatted


def test_configuration_doc_matches_the_settings_class() -> None:
    doc = (ROOT / "docs" / "configuration.md").read_text()
    assert replace_table(doc) == doc, "run: python -m catalyst_api.configdoc --write"
    for name in Settings.env_names():
        assert f"`{name}`" in render_table()


def _serve(**env: str) -> subprocess.CompletedProcess[str]:
    """`catalyst-api serve` with `env` added to this environment (expected to exit at once)."""
    return subprocess.run(
        [sys.executable, "-m", "catalyst_api.cli", "serve", "--port", "0"],
        env=dict(os.environ, **env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_serve_refuses_to_start_with_a_bad_value() -> None:
    proc = _serve(CATALYST_TOFU_TIMEOUT="soon")
    assert proc.returncode == 2
    assert "CATALYST_TOFU_TIMEOUT" in proc.stderr


def test_serve_refuses_to_start_with_an_unusable_price_table(tmp_path: Path) -> None:
    prices = tmp_path / "prices.json"
    prices.write_text('{"currency": "EUR", "skus": {"cx33": {"monthly": "cheap"}}}')
    proc = _serve(CATALYST_PRICES_FILE=str(prices))
    assert proc.returncode == 2
    assert proc.stderr == (
        f"catalyst-api: CATALYST_PRICES_FILE: {prices}: SKU 'cx33' needs non-negative numbers "
        "`monthly` and `hourly`\n"
    )
