"""The rendered Deployment keeps the contract of the seed Deployment (spec/seed-api-deployment.yaml)
and of DESIGN.md, and agrees with the settings the code actually reads."""

from __future__ import annotations

import importlib
from pathlib import Path, PurePosixPath
from typing import Any

import httpx
import pytest

from catalyst_api.config import Settings

# The env names of the seed Deployment (spec/seed-api-deployment.yaml plus the #321 additions).
SEED_ENV_NAMES = [
    "PORT",
    "CORS_ORIGIN",
    "DYNADOT_API_KEY",
    "DYNADOT_API_SECRET",
    "DYNADOT_MANAGED_DOMAINS",
    "DYNADOT_DOMAIN",
    "CATALYST_TOFU_WORKDIR",
    "CATALYST_DEPLOYMENTS_DIR",
    "CATALYST_KUBECONFIGS_DIR",
    "CATALYST_API_PUBLIC_URL",
    "CATALYST_K8SCACHE_KUBECONFIGS_DIR",
    "CATALYST_K8SCACHE_SNAPSHOT_DIR",
    "CATALYST_K8SCACHE_KINDS_CONFIGMAP",
    "CATALYST_K8SCACHE_KINDS_CONFIGMAP_NAMESPACE",
    "CATALYST_GHCR_PULL_TOKEN",
]

# env name → (Secret, key, optional). `api-key`/`api-secret` are optional, as upstream since
# #547: a missing Dynadot Secret must not keep the whole API (BYO, /healthz) from starting.
SECRET_REFS = {
    "DYNADOT_API_KEY": ("dynadot-api-credentials", "api-key", True),
    "DYNADOT_API_SECRET": ("dynadot-api-credentials", "api-secret", True),
    "DYNADOT_MANAGED_DOMAINS": ("dynadot-api-credentials", "domains", True),
    "DYNADOT_DOMAIN": ("dynadot-api-credentials", "domain", True),
    "CATALYST_GHCR_PULL_TOKEN": ("catalyst-ghcr-pull-token", "token", True),
}

# Settings the chart deliberately leaves to their in-code defaults, with the reason.
NOT_SET_BY_CHART = {
    "CATALYST_LOG_LEVEL": "default `info`; set through extraEnv when debugging",
    "CATALYST_EXECUTIONS_DIR": "default /var/lib/catalyst/executions is already on the PVC",
    "POOL_DOMAIN_MANAGER_URL": "unset = embedded mode (DESIGN 8); PDM mode through extraEnv",
    "DYNADOT_API_URL": "the real Dynadot endpoint; overridden only by tests and the sandbox",
    "CATALYST_HETZNER_API_URL": "the real Hetzner API; overridden only by tests and the sandbox",
    "CATALYST_TOFU_BINARY": "the image puts `tofu` on PATH, which the default picks",
    "CATALYST_TOFU_MODULE_PATH": "the image ships the module at the default /infra/hetzner",
    "CATALYST_TOFU_TIMEOUT": "tuning knob (30m)",
    "CATALYST_GITOPS_REPO_URL": "default repository, as the seed",
    "CATALYST_GITOPS_BRANCH": "default branch, as the seed",
    "CATALYST_KUBECONFIG_WAIT_TIMEOUT": "tuning knob (20m)",
    "CATALYST_PHASE1_WATCH_TIMEOUT": "tuning knob (60m)",
    "CATALYST_PHASE1_MIN_BOOTSTRAP_KIT_HRS": "tuning knob (11)",
    "CATALYST_PHASE1_FIRST_SEEN_TIMEOUT": "tuning knob (15m)",
    "CATALYST_K8SCACHE_USER_HEADER": "default X-Forwarded-User, as the seed",
    "CATALYST_K8SCACHE_KINDS_FILE": "off-cluster alternative to the kinds ConfigMap",
    "CATALYST_MAX_CONNECTIONS": "tuning knob (4000); docs/HARDENING.md",
    "CATALYST_SSE_MAX_STREAMS": "tuning knob (2000, sized for the 1 GiB limit); docs/HARDENING.md",
    "CATALYST_REQUEST_HEADER_TIMEOUT": "tuning knob (10s); docs/HARDENING.md",
    "CATALYST_REQUEST_BODY_TIMEOUT": "tuning knob (30s); docs/HARDENING.md",
    "CATALYST_WRITE_TIMEOUT": "tuning knob (30s); docs/HARDENING.md",
    "CATALYST_TOFU_INTERRUPT_GRACE": "staged shutdown (20s), below terminationGracePeriodSeconds",
    "CATALYST_SHUTDOWN_RUNS_GRACE": "staged shutdown (45s), below terminationGracePeriodSeconds",
    "CATALYST_SHUTDOWN_GRACE": "staged shutdown (50s), below terminationGracePeriodSeconds",
    "CATALYST_DAY2_CLAIM_POLL_INTERVAL": "tuning knob (2s)",
    "CATALYST_DAY2_CLAIM_TIMEOUT": "tuning knob (30m)",
    "CATALYST_INFRA_LIVE_READ_TIMEOUT": "tuning knob (5s, the original's)",
    "CATALYST_AUTH_MODE": "default `open`, as the seed; `auth.mode: required` renders it",
    "CATALYST_AUTH_TOKENS_FILE": "rendered with `auth.tokensSecret.name` (required mode)",
    "CATALYST_AUTH_OIDC_ISSUER": "rendered with `auth.oidc.issuer` (required mode)",
    "CATALYST_AUTH_OIDC_AUDIENCE": "rendered with `auth.oidc.issuer` (required mode)",
    "CATALYST_AUTH_OIDC_ROLES_CLAIM": "rendered with `auth.oidc.issuer` (required mode)",
    "CATALYST_AUTH_TRUSTED_PROXIES": "rendered with `auth.trustedProxies` (required mode)",
    "CATALYST_CONSOLE_OIDC_CLIENT_ID": "rendered with `auth.oidc.consoleClientID` (required mode)",
    "CATALYST_PLAN_CONCURRENCY": "tuning knob (2)",
    "CATALYST_PLAN_TIMEOUT": "tuning knob (2m)",
    "CATALYST_PRICES_FILE": "the packaged table; a ConfigMap mount + extraEnv overrides it",
    "CATALYST_AUTH_PROXY_USER_HEADER": "rendered with `auth.proxyUserHeader` (required mode)",
    "CATALYST_AUTH_PROXY_GROUPS_HEADER": "rendered with `auth.proxyGroupsHeader` (required mode)",
    "CATALYST_SANDBOX": "sandbox only",
    "CATALYST_SANDBOX_SPEED": "sandbox only",
    "CATALYST_SANDBOX_FAIL_COMPONENTS": "sandbox only",
    "CATALYST_DATABASE_URL": "set only with database.enabled (docs/HA.md)",
    "CATALYST_ENCRYPTION_KEY": "set only with database.enabled (docs/HA.md)",
    "CATALYST_LEASE_TTL": "set only with database.enabled (docs/HA.md)",
    "CATALYST_REPLICA_NAME": "set only with database.enabled: the Pod name",
}

# Settings holding a data path → the volume that must back it (durable state on the PVCs).
PATH_SETTINGS = {
    "CATALYST_TOFU_WORKDIR": "catalyst",
    "CATALYST_DEPLOYMENTS_DIR": "catalyst",
    "CATALYST_KUBECONFIGS_DIR": "catalyst",
    "CATALYST_EXECUTIONS_DIR": "catalyst",
    "CATALYST_K8SCACHE_KUBECONFIGS_DIR": "catalyst",
    "CATALYST_K8SCACHE_SNAPSHOT_DIR": "sov-cache",
}


def _pod(deployment: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = deployment["spec"]["template"]["spec"]
    return spec


def _container(deployment: dict[str, Any]) -> dict[str, Any]:
    containers = _pod(deployment)["containers"]
    assert len(containers) == 1
    container: dict[str, Any] = containers[0]
    return container


def _env(deployment: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in _container(deployment)["env"]}


def test_deployment_is_one_replica_with_recreate_and_no_rolling_update(
    default_deployment: dict[str, Any],
) -> None:
    spec = default_deployment["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "Recreate"}
    assert spec["selector"] == {"matchLabels": {"app.kubernetes.io/name": "catalyst-api"}}
    labels = spec["template"]["metadata"]["labels"]
    assert labels["app.kubernetes.io/name"] == "catalyst-api"
    assert default_deployment["metadata"]["labels"] == {
        "app.kubernetes.io/name": "catalyst-api",
        "app.kubernetes.io/component": "api",
    }


def test_deployment_carries_the_flux_force_annotation(default_deployment: dict[str, Any]) -> None:
    annotations = default_deployment["metadata"]["annotations"]
    assert annotations == {"kustomize.toolkit.fluxcd.io/force": "enabled"}


def test_pod_runs_as_65534_with_fsgroup_on_root_mismatch(
    default_deployment: dict[str, Any],
) -> None:
    pod_security = _pod(default_deployment)["securityContext"]
    assert pod_security["fsGroup"] == 65534
    assert pod_security["fsGroupChangePolicy"] == "OnRootMismatch"
    security = _container(default_deployment)["securityContext"]
    assert security["runAsUser"] == 65534
    assert security["runAsNonRoot"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["readOnlyRootFilesystem"] is False


def test_env_names_are_the_seed_names_in_seed_order(default_deployment: dict[str, Any]) -> None:
    assert [e["name"] for e in _container(default_deployment)["env"]] == SEED_ENV_NAMES


def test_secret_references_match_the_seed_and_rotation_doc(
    default_deployment: dict[str, Any],
) -> None:
    refs = {
        name: (
            e["valueFrom"]["secretKeyRef"]["name"],
            e["valueFrom"]["secretKeyRef"]["key"],
            e["valueFrom"]["secretKeyRef"].get("optional", False),
        )
        for name, e in _env(default_deployment).items()
        if "valueFrom" in e
    }
    assert refs == SECRET_REFS


def test_plain_env_values_keep_the_seed_values_and_move_tofu_to_the_pvc(
    default_deployment: dict[str, Any],
) -> None:
    values = {name: e.get("value") for name, e in _env(default_deployment).items()}
    assert values["PORT"] == "8080"
    assert values["CORS_ORIGIN"] == "https://catalyst.openova.io"
    assert values["CATALYST_TOFU_WORKDIR"] == "/var/lib/catalyst/tofu"
    assert values["CATALYST_DEPLOYMENTS_DIR"] == "/var/lib/catalyst/deployments"
    assert values["CATALYST_KUBECONFIGS_DIR"] == "/var/lib/catalyst/kubeconfigs"
    assert values["CATALYST_API_PUBLIC_URL"] == "https://console.openova.io/sovereign"
    assert values["CATALYST_K8SCACHE_KUBECONFIGS_DIR"] == "/var/lib/catalyst/kubeconfigs"
    assert values["CATALYST_K8SCACHE_SNAPSHOT_DIR"] == "/var/cache/sov-cache"
    assert values["CATALYST_K8SCACHE_KINDS_CONFIGMAP"] == "catalyst-k8scache-kinds"
    assert values["CATALYST_K8SCACHE_KINDS_CONFIGMAP_NAMESPACE"] == "catalyst"


def test_manifest_env_is_exactly_the_settings_a_deployer_must_set(
    default_deployment: dict[str, Any],
) -> None:
    settings = set(Settings.env_names())
    manifest = set(_env(default_deployment))
    unset = set(NOT_SET_BY_CHART)
    assert manifest <= settings, f"env the code never reads: {sorted(manifest - settings)}"
    assert unset <= settings, f"stale NOT_SET_BY_CHART entries: {sorted(unset - settings)}"
    missing = settings - unset - manifest
    assert not missing, (
        f"settings neither set by the chart nor listed in NOT_SET_BY_CHART: {sorted(missing)}"
    )
    assert not manifest & unset


def test_every_data_path_lives_on_the_volume_that_persists_it(
    default_deployment: dict[str, Any],
) -> None:
    env = _env(default_deployment)
    defaults = Settings.from_env({})
    env_to_field = Settings.env_names()
    mounts = {
        m["name"]: PurePosixPath(m["mountPath"])
        for m in _container(default_deployment)["volumeMounts"]
    }
    for name, volume in PATH_SETTINGS.items():
        raw = env[name]["value"] if name in env else str(getattr(defaults, env_to_field[name]))
        path = PurePosixPath(raw)
        assert path.is_relative_to(mounts[volume]), f"{name}={path} is not under {mounts[volume]}"


def test_volumes_are_the_two_pvcs_and_the_sized_emptydirs(
    default_deployment: dict[str, Any],
) -> None:
    volumes = {v["name"]: v for v in _pod(default_deployment)["volumes"]}
    assert volumes == {
        "tmp": {"name": "tmp", "emptyDir": {"sizeLimit": "2Gi"}},
        "home": {"name": "home", "emptyDir": {"sizeLimit": "256Mi"}},
        "catalyst": {
            "name": "catalyst",
            "persistentVolumeClaim": {"claimName": "catalyst-api-deployments"},
        },
        "sov-cache": {
            "name": "sov-cache",
            "persistentVolumeClaim": {"claimName": "catalyst-api-cache"},
        },
    }
    mounts = {m["name"]: m["mountPath"] for m in _container(default_deployment)["volumeMounts"]}
    assert mounts == {
        "tmp": "/tmp",
        "home": "/home/nonroot",
        "catalyst": "/var/lib/catalyst",
        "sov-cache": "/var/cache/sov-cache",
    }


def test_claimed_pvcs_are_rendered_by_the_chart(
    default_deployment: dict[str, Any], default_chart: Any
) -> None:
    claims = {
        volume["persistentVolumeClaim"]["claimName"]
        for volume in _pod(default_deployment)["volumes"]
        if "persistentVolumeClaim" in volume
    }
    assert claims == {"catalyst-api-deployments", "catalyst-api-cache"}
    for claim in claims:
        pvc = default_chart.get("PersistentVolumeClaim", claim).obj
        assert pvc["metadata"]["name"] == claim


def test_resources_match_the_seed(default_deployment: dict[str, Any]) -> None:
    assert _container(default_deployment)["resources"] == {
        "requests": {"cpu": "50m", "memory": "128Mi"},
        "limits": {"cpu": "1000m", "memory": "1Gi"},
    }


def test_probes_are_healthz_for_liveness_and_readyz_for_readiness_on_the_api_port(
    default_deployment: dict[str, Any],
) -> None:
    container = _container(default_deployment)
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": 8080}
    assert _env(default_deployment)["PORT"]["value"] == str(ports["http"])
    liveness = container["livenessProbe"]["httpGet"]
    readiness = container["readinessProbe"]["httpGet"]
    assert (liveness["path"], readiness["path"]) == ("/healthz", "/readyz")
    assert liveness["port"] == readiness["port"] == "http"


def test_pod_identity_pull_secret_and_token_for_the_configmap_read(
    default_deployment: dict[str, Any], default_chart: Any
) -> None:
    pod = _pod(default_deployment)
    assert pod["imagePullSecrets"] == [{"name": "ghcr-pull-secret"}]
    assert pod["serviceAccountName"] == "catalyst-api"
    assert pod["automountServiceAccountToken"] is True
    assert pod["enableServiceLinks"] is False
    account = default_chart.get("ServiceAccount", pod["serviceAccountName"]).obj
    assert account["metadata"]["name"] == "catalyst-api"
    subjects = default_chart.get("RoleBinding").obj["subjects"]
    assert {"kind": "ServiceAccount", "name": "catalyst-api", "namespace": "catalyst"} in subjects


async def test_probe_paths_answer_on_the_app(
    default_deployment: dict[str, Any], tmp_path: Path
) -> None:
    # What the kubelet does: GET the probe paths on the app built by create_app(settings),
    # with its lifespan running (as uvicorn runs it) and the data dirs in a temp directory.
    try:
        create_app = importlib.import_module("catalyst_api.app").create_app
    except (ImportError, AttributeError) as exc:
        pytest.fail(f"catalyst_api.app.create_app is not importable yet: {exc}")
    settings = Settings.from_env(
        {},
        deployments_dir=tmp_path / "deployments",
        kubeconfigs_dir=tmp_path / "kubeconfigs",
        executions_dir=tmp_path / "executions",
        tofu_workdir=tmp_path / "tofu",
        k8scache_kubeconfigs_dir=tmp_path / "kubeconfigs",
        k8scache_snapshot_dir=tmp_path / "sov-cache",
    )
    app = create_app(settings)
    container = _container(default_deployment)
    async with app.router.lifespan_context(app) as state:

        async def with_lifespan_state(scope: Any, receive: Any, send: Any) -> None:
            scope["state"] = dict(state or {})
            await app(scope, receive, send)

        transport = httpx.ASGITransport(app=with_lifespan_state)
        async with httpx.AsyncClient(transport=transport, base_url="http://pod") as client:
            live = await client.get(container["livenessProbe"]["httpGet"]["path"])
            ready = await client.get(container["readinessProbe"]["httpGet"]["path"])
    assert live.status_code == 200, live.text
    assert ready.status_code == 200, ready.text
    assert ready.json()["ready"] is True
