"""Plan-preview test setup: settings planning the sandbox module with the venv's terraform shim
and a price table written by the test, and overrides wiring a real `TofuPlanner` whose
throwaway workdirs go to a directory the test watches."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from catalyst_api.config import Settings
from catalyst_api.provisioner import TofuPlanner
from catalyst_api.wiring import Overrides
from fakes.hcloud.harness import TERRAFORM, tofu_base_env
from support.fakes import ScriptedPhase1, ScriptedProvisioner

SANDBOX_MODULE = Path(__file__).resolve().parents[2] / "infra" / "sandbox"
PRICES = {
    "currency": "EUR",
    "source": "written by the tests (tests/support/plans.py)",
    "date": "2026-01-01",
    "skus": {
        "cx33": {"monthly": 6.49, "hourly": 0.0104},
        "lb11": {"monthly": 5.39, "hourly": 0.0086},
        "network": {"monthly": 0, "hourly": 0},
    },
}


def plan_settings(make_settings: Callable[..., Settings], tmp_path: Path, **env: str) -> Settings:
    """`make_settings` with the sandbox module, the terraform shim and `PRICES`; `env` wins."""
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps(PRICES))
    values = {
        "CATALYST_TOFU_MODULE_PATH": str(SANDBOX_MODULE),
        "CATALYST_TOFU_BINARY": str(TERRAFORM),
        "CATALYST_PRICES_FILE": str(prices),
    }
    return make_settings(**(values | env))


def plan_overrides(
    settings: Settings, plans: Path, provisioner: ScriptedProvisioner | None = None
) -> Overrides:
    """A real planner (workdirs under `plans`), a scripted Phase 0 and Phase 1 for creates."""
    planner = TofuPlanner(settings=settings, base_env=tofu_base_env(), temp_root=plans)
    return Overrides(
        provisioner=provisioner or ScriptedProvisioner(postback_base="auto"),
        phase1=ScriptedPhase1(),
        planner=planner,
    )
