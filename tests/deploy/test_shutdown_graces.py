"""The staged shutdown fits in the Pod's grace: OpenTofu's SIGINT window (twice: SIGTERM, then
SIGKILL) < the runs' grace < the whole shutdown (uvicorn) < terminationGracePeriodSeconds of
the rendered chart and the kustomize copy (docs/RUNBOOK.md §Shutdown)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from catalyst_api.config import ConfigError, Settings
from catalyst_api.serving import uvicorn_config

KUSTOMIZE_DEPLOYMENT = Path(__file__).resolve().parents[2] / "deploy/kustomize/deployment.yaml"


def _graces(pod_grace: int) -> list[float]:
    defaults = Settings.from_env({})
    uvicorn = uvicorn_config(object(), defaults, host="127.0.0.1").timeout_graceful_shutdown
    assert uvicorn is not None
    return [
        2 * defaults.tofu_interrupt_grace.total_seconds(),
        defaults.shutdown_runs_grace.total_seconds(),
        float(uvicorn),
        float(pod_grace),
    ]


def test_default_graces_nest_inside_the_charts_termination_grace(
    default_deployment: dict[str, Any],
) -> None:
    pod_grace = default_deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    graces = _graces(pod_grace)
    assert graces == sorted(set(graces)), graces


def test_default_graces_nest_inside_the_kustomize_copys_termination_grace() -> None:
    deployment = yaml.safe_load(KUSTOMIZE_DEPLOYMENT.read_text())
    graces = _graces(deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"])
    assert graces == sorted(set(graces)), graces


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"CATALYST_TOFU_INTERRUPT_GRACE": "30s"}, "CATALYST_SHUTDOWN_RUNS_GRACE"),
        ({"CATALYST_SHUTDOWN_RUNS_GRACE": "50s"}, "CATALYST_SHUTDOWN_GRACE"),
    ],
    ids=["runs-grace-below-two-sigint-windows", "shutdown-grace-below-runs-grace"],
)
def test_graces_that_do_not_nest_stop_startup(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        Settings.from_env(env)
