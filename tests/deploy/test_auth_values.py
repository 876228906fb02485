"""The chart's `auth` values and the kustomize `auth-required` component: default renders
nothing (open, the seed's behaviour); `required` renders settings the service accepts and the
tokens Secret mount; the component yields the same container as the chart."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from catalyst_api.config import Settings

from .conftest import KUSTOMIZE_DIR, run_tool

AUTH_VALUES: dict[str, Any] = {
    "auth": {
        "mode": "required",
        "tokensSecret": {"name": "catalyst-api-tokens"},
        "oidc": {"issuer": "https://keycloak.example.com/realms/openova", "audience": "catalyst"},
        "trustedProxies": "10.42.0.0/16",
    }
}


def _container(deployment: dict[str, Any]) -> dict[str, Any]:
    container: dict[str, Any] = deployment["spec"]["template"]["spec"]["containers"][0]
    return container


def _auth_env(deployment: dict[str, Any]) -> dict[str, str]:
    return {
        e["name"]: e["value"]
        for e in _container(deployment)["env"]
        if e["name"].startswith("CATALYST_AUTH_")
    }


def test_default_render_has_no_auth_settings(default_deployment: dict[str, Any]) -> None:
    assert _auth_env(default_deployment) == {}


def test_required_values_render_accepted_settings_and_the_tokens_mount(
    render: Callable[..., Any],
) -> None:
    deployment = render(AUTH_VALUES).get("Deployment", "catalyst-api").obj
    env = _auth_env(deployment)
    assert env == {
        "CATALYST_AUTH_MODE": "required",
        "CATALYST_AUTH_TOKENS_FILE": "/etc/catalyst/auth/tokens",
        "CATALYST_AUTH_OIDC_ISSUER": "https://keycloak.example.com/realms/openova",
        "CATALYST_AUTH_OIDC_AUDIENCE": "catalyst",
        "CATALYST_AUTH_OIDC_ROLES_CLAIM": "groups",
        "CATALYST_AUTH_TRUSTED_PROXIES": "10.42.0.0/16",
    }
    assert Settings.from_env(env).auth_mode == "required"
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    assert volumes["auth-tokens"]["secret"]["secretName"] == "catalyst-api-tokens"


def test_kustomize_component_matches_the_chart(
    render: Callable[..., Any], kubectl: Path, tmp_path: Path
) -> None:
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "resources": [os.path.relpath(KUSTOMIZE_DIR, overlay)],
                "components": [
                    os.path.relpath(KUSTOMIZE_DIR / "components" / "auth-required", overlay)
                ],
            }
        )
    )
    result = run_tool([kubectl, "kustomize", "--load-restrictor", "LoadRestrictionsNone", overlay])
    assert result.returncode == 0, result.stderr
    built = next(d for d in yaml.safe_load_all(result.stdout) if d and d["kind"] == "Deployment")
    chart = render({"auth": {"mode": "required", "tokensSecret": {"name": "catalyst-api-tokens"}}})
    rendered = chart.get("Deployment", "catalyst-api").obj
    assert _auth_env(built) == _auth_env(rendered)

    def by_name(items: list[dict[str, Any]]) -> dict[str, Any]:
        return {item["name"]: item for item in items}

    assert by_name(_container(built)["volumeMounts"]) == by_name(
        _container(rendered)["volumeMounts"]
    )
    assert by_name(built["spec"]["template"]["spec"]["volumes"]) == by_name(
        rendered["spec"]["template"]["spec"]["volumes"]
    )


def test_the_console_oidc_client_is_rendered_with_the_issuer(render: Callable[..., Any]) -> None:
    values = {"auth": {**AUTH_VALUES["auth"]}}
    values["auth"]["oidc"] = {**AUTH_VALUES["auth"]["oidc"], "consoleClientID": "catalyst-console"}
    env = {
        e["name"]: e.get("value")
        for e in _container(render(values).get("Deployment", "catalyst-api").obj)["env"]
    }
    assert env["CATALYST_CONSOLE_OIDC_CLIENT_ID"] == "catalyst-console"
    assert Settings.from_env(
        {
            k: v
            for k, v in env.items()
            if k.startswith("CATALYST_AUTH_") or k.startswith("CATALYST_CONSOLE_")
        }
    ).auth_oidc_issuer
    without = _container(render(AUTH_VALUES).get("Deployment", "catalyst-api").obj)["env"]
    assert "CATALYST_CONSOLE_OIDC_CLIENT_ID" not in {e["name"] for e in without}
