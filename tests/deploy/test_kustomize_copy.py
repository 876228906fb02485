"""deploy/kustomize: every manifest listed, builds, validates, and equals the chart's defaults."""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
KUSTOMIZE_DIR = DEPLOY / "kustomize"
SYNC_SCRIPT = DEPLOY / "sync-kustomize.sh"


def test_every_manifest_in_the_directory_is_listed_in_the_kustomization(
    kustomization: dict[str, Any], kustomize_files: dict[str, str]
) -> None:
    listed = kustomization["resources"]
    assert len(listed) == len(set(listed)), "a resource is listed twice"
    unlisted = set(kustomize_files) - set(listed)
    assert not unlisted, f"not listed in kustomization.yaml (never applied): {sorted(unlisted)}"
    missing = set(listed) - set(kustomize_files)
    assert not missing, f"listed but missing: {sorted(missing)}"


def test_kustomization_targets_the_catalyst_namespace(kustomization: dict[str, Any]) -> None:
    assert kustomization["namespace"] == "catalyst"


def test_kustomize_build_puts_every_object_in_catalyst(
    kustomize_build: list[dict[str, Any]],
) -> None:
    assert {o["metadata"]["namespace"] for o in kustomize_build} == {"catalyst"}
    claims = {
        o["metadata"]["name"] for o in kustomize_build if o["kind"] == "PersistentVolumeClaim"
    }
    assert claims == {"catalyst-api-deployments", "catalyst-api-cache"}


def test_every_kustomize_file_passes_kubernetes_validate_strict(
    tool: Callable[[str], Path], run: Callable[..., Any], kustomize_files: dict[str, str]
) -> None:
    files = [KUSTOMIZE_DIR / name for name in kustomize_files]
    result = run([tool("kubernetes-validate"), "--strict", "-k", "1.32.0", *files])
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count(" passed for resource ") == len(files), result.stdout


def _with_namespace(obj: dict[str, Any], namespace: str) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    out["metadata"].setdefault("namespace", namespace)
    return out


def test_kustomize_objects_equal_the_chart_rendered_with_defaults(
    default_chart: Any, kustomize_build: list[dict[str, Any]]
) -> None:
    helm_objects = {d.key: _with_namespace(d.obj, "catalyst") for d in default_chart.docs}
    kustomize_objects = {(o["kind"], o["metadata"]["name"]): o for o in kustomize_build}
    assert set(kustomize_objects) == set(helm_objects)
    for key, helm_obj in helm_objects.items():
        assert kustomize_objects[key] == helm_obj, f"{key} differs between chart and kustomize"


def test_kustomize_deployment_file_equals_the_rendered_deployment(
    default_deployment: dict[str, Any], kustomize_files: dict[str, str]
) -> None:
    assert yaml.safe_load(kustomize_files["deployment.yaml"]) == default_deployment


@pytest.mark.parametrize("script", [SYNC_SCRIPT])
def test_sync_script_regenerates_the_committed_files_exactly(
    script: Path,
    helm: Path,
    run: Callable[..., Any],
    kustomize_files: dict[str, str],
    tmp_path: Path,
) -> None:
    result = run(["bash", script, tmp_path], env={**os.environ, "HELM": str(helm)})
    assert result.returncode == 0, result.stderr
    generated = {p.name: p.read_text() for p in tmp_path.iterdir()}
    assert set(generated) == set(kustomize_files), "run deploy/sync-kustomize.sh"
    for name, text in generated.items():
        assert text == kustomize_files[name], f"{name} is stale: run deploy/sync-kustomize.sh"
