"""Structural guards from the strategy-flip incident (docs/CHART-AUTHORING.md).

The Deployment manifest (rendered chart and kustomize copy) must keep the Flux force annotation
as a real YAML key, must never carry `$patch` as a key (a comment may mention it), and must stay
one self-contained Deployment that applies to any empty namespace.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml

CHART = Path(__file__).resolve().parents[2] / "deploy" / "helm" / "catalyst-api"
KUSTOMIZE_DEPLOYMENT = (
    Path(__file__).resolve().parents[2] / "deploy" / "kustomize" / "deployment.yaml"
)

FORCE_KEY = re.compile(r"^\s+kustomize\.toolkit\.fluxcd\.io/force:\s+enabled\s*$", re.MULTILINE)
# `$patch` as a mapping key on a non-comment line (quoted or not).
PATCH_KEY = re.compile(r"""^\s*(?:-\s+)?["']?\$patch["']?\s*:""", re.MULTILINE)


@pytest.fixture(scope="module")
def rendered_deployment_file(helm: Path, run: Callable[..., Any]) -> str:
    """What the strategy-flip procedure applies: `helm template --show-only` of the template."""
    result = run(
        [helm, "template", "strategy-flip", CHART, "--show-only", "templates/deployment.yaml"]
    )
    assert result.returncode == 0, result.stderr
    return str(result.stdout)


def _manifests(rendered_deployment_file: str) -> Iterator[tuple[str, str]]:
    yield "helm --show-only templates/deployment.yaml", rendered_deployment_file
    yield "deploy/kustomize/deployment.yaml", KUSTOMIZE_DEPLOYMENT.read_text()


def test_force_annotation_is_a_yaml_key_in_both_deployment_manifests(
    rendered_deployment_file: str,
) -> None:
    for label, text in _manifests(rendered_deployment_file):
        assert FORCE_KEY.search(text), f"{label}: force annotation is not a YAML key"
        obj = yaml.safe_load(text)
        assert obj["metadata"]["annotations"]["kustomize.toolkit.fluxcd.io/force"] == "enabled"


def test_force_annotation_survives_kustomize_build(kustomize_build: list[dict[str, Any]]) -> None:
    deployments = [o for o in kustomize_build if o["kind"] == "Deployment"]
    assert len(deployments) == 1
    assert deployments[0]["metadata"]["annotations"]["kustomize.toolkit.fluxcd.io/force"] == (
        "enabled"
    )


def test_force_annotation_is_only_on_the_deployment(
    custom_chart: Any, kustomize_build: list[dict[str, Any]]
) -> None:
    # On a PVC or StatefulSet, delete-and-recreate loses data.
    objects = [d.obj for d in custom_chart.docs] + kustomize_build
    for obj in objects:
        annotations = obj["metadata"].get("annotations") or {}
        if obj["kind"] != "Deployment":
            assert "kustomize.toolkit.fluxcd.io/force" not in annotations, obj["kind"]


def test_patch_directive_appears_nowhere_as_a_key(
    rendered_deployment_file: str,
    custom_chart: Any,
    default_chart: Any,
    kustomize_files: dict[str, str],
    kustomize_build: list[dict[str, Any]],
    key_walker: Callable[[Any], Iterator[str]],
) -> None:
    texts = {
        "rendered deployment": rendered_deployment_file,
        "default render": default_chart.text,
        "custom render": custom_chart.text,
        **kustomize_files,
    }
    for label, text in texts.items():
        assert not PATCH_KEY.search(text), f"{label}: `$patch` used as a YAML key"
        for obj in yaml.safe_load_all(text):
            assert "$patch" not in set(key_walker(obj)), label
    for obj in kustomize_build:
        assert "$patch" not in set(key_walker(obj))


def test_patch_key_detector_flags_a_key_and_allows_a_comment() -> None:
    assert PATCH_KEY.search("spec:\n  strategy:\n    $patch: replace\n    type: Recreate\n")
    assert PATCH_KEY.search('  "$patch": replace\n')
    assert not PATCH_KEY.search("  # never add `$patch: replace` here\n  strategy: {}\n")


def test_strict_validation_rejects_an_inline_patch_directive(
    default_deployment: dict[str, Any],
) -> None:
    # Mirrors the API server's strict decoding on create: the directive breaks fresh installs.
    bad = yaml.safe_load(yaml.safe_dump(default_deployment))
    bad["spec"]["strategy"]["$patch"] = "replace"
    with pytest.raises(kubernetes_validate.ValidationError, match=r"\$patch"):
        kubernetes_validate.validate(bad, "1.32.0", strict=True)


def test_deployment_manifest_is_one_namespace_free_document_without_template_syntax(
    rendered_deployment_file: str,
) -> None:
    for label, text in _manifests(rendered_deployment_file):
        docs = [d for d in yaml.safe_load_all(text) if d]
        assert len(docs) == 1, label
        assert docs[0]["kind"] == "Deployment"
        # `kubectl apply -n <any> -f <file>` must work: no namespace pinned in the file.
        assert "namespace" not in docs[0]["metadata"], label
        assert "{{" not in text, label
        assert "}}" not in text, label


def test_deployment_comments_explain_recreate_force_and_the_patch_pitfall(
    rendered_deployment_file: str,
) -> None:
    for label, text in _manifests(rendered_deployment_file):
        comments = "\n".join(
            line.strip() for line in text.splitlines() if line.strip().startswith("#")
        )
        for needle in (
            "Multi-Attach",
            "spec.strategy.rollingUpdate: Forbidden",
            "deletes and re-creates this one Deployment",
            "`$patch: replace`",
            "never recreated",
            "CHART-AUTHORING.md",
        ):
            assert needle in comments, f"{label}: comment about {needle!r} is missing"
