"""The Containerfile's structure, its OpenTofu verification and its build context.

No container engine exists here, so the image is checked by parsing the Containerfile, and
the download-and-verify step is exercised for real by running deploy/image/fetch-tofu.sh
against a local release directory (file:// URL).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import tomllib
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from catalyst_api.config import Settings

REPO = Path(__file__).resolve().parents[2]
CONTAINERFILE = REPO / "Containerfile"
DOCKERIGNORE = REPO / ".dockerignore"
FETCH_TOFU = REPO / "deploy" / "image" / "fetch-tofu.sh"
TOFU_VERSION = "1.11.6"
DATA_DIRS = {
    "/var/lib/catalyst/deployments",
    "/var/lib/catalyst/kubeconfigs",
    "/var/lib/catalyst/executions",
    "/var/lib/catalyst/tofu",
    "/var/cache/sov-cache",
}


@dataclass
class Stage:
    name: str
    base: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def args(self, keyword: str) -> list[str]:
        return [args for kw, args in self.instructions if kw == keyword]


@dataclass
class Containerfile:
    global_args: dict[str, str]
    stages: list[Stage]
    first_line: str

    def stage(self, name: str) -> Stage:
        return next(s for s in self.stages if s.name == name)


def parse_containerfile(text: str) -> Containerfile:
    """Instructions per stage, line continuations joined, comments dropped."""
    logical: list[str] = []
    buffer = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not buffer and (not line or line.startswith("#")):
            continue
        if buffer and line.startswith("#"):
            continue
        if line.endswith("\\"):
            buffer += line[:-1] + " "
            continue
        logical.append(buffer + line)
        buffer = ""
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in logical:
        keyword, _, args = line.partition(" ")
        keyword = keyword.upper()
        args = " ".join(args.split())
        if keyword == "FROM":
            match = re.fullmatch(r"(\S+) AS (\S+)", args, re.IGNORECASE)
            assert match, f"every stage is named: {line}"
            stages.append(Stage(name=match.group(2), base=match.group(1)))
        elif not stages:
            assert keyword == "ARG", f"only ARG may precede the first FROM: {line}"
            name, _, default = args.partition("=")
            global_args[name] = default
        else:
            stages[-1].instructions.append((keyword, args))
    return Containerfile(global_args, stages, text.splitlines()[0])


@pytest.fixture(scope="module")
def containerfile() -> Containerfile:
    return parse_containerfile(CONTAINERFILE.read_text())


def _arg_defaults(stage: Stage) -> dict[str, str]:
    return {a.partition("=")[0]: a.partition("=")[2] for a in stage.args("ARG")}


def test_containerfile_has_builder_tofu_and_runtime_stages_on_python_slim(
    containerfile: Containerfile,
) -> None:
    assert containerfile.first_line.startswith("# syntax=docker/dockerfile:")
    assert [s.name for s in containerfile.stages] == ["builder", "tofu", "runtime"]
    image = containerfile.global_args["PYTHON_IMAGE"]
    assert image.endswith("/python:3.11-slim-bookworm")
    assert {s.base for s in containerfile.stages} == {"${PYTHON_IMAGE}"}


def test_builder_builds_a_wheel_of_this_project_into_a_venv(containerfile: Containerfile) -> None:
    builder = containerfile.stage("builder")
    copies = builder.args("COPY")
    assert "pyproject.toml README.md ./" in copies
    assert "src/ ./src/" in copies
    (run,) = builder.args("RUN")
    assert re.search(r"pip wheel .*--wheel-dir /wheels \.(\s|$)", run)
    assert "python -m venv /opt/venv" in run
    assert "/opt/venv/bin/pip install" in run
    assert "--no-index" in run
    assert "/wheels/catalyst_api-*.whl" in run


def test_tofu_is_pinned_to_the_original_version_and_verified_per_architecture(
    containerfile: Containerfile,
) -> None:
    tofu = containerfile.stage("tofu")
    args = _arg_defaults(tofu)
    assert "TARGETARCH" in args
    assert args["TOFU_VERSION"] == TOFU_VERSION
    assert {"TOFU_SHA256_AMD64", "TOFU_SHA256_ARM64"} <= set(args)
    assert "deploy/image/fetch-tofu.sh /usr/local/bin/fetch-tofu.sh" in tofu.args("COPY")
    (run,) = tofu.args("RUN")
    expected_call = (
        'bash /usr/local/bin/fetch-tofu.sh "${TOFU_VERSION}" "${TARGETARCH}" '
        '"${TOFU_SHA256_AMD64}" "${TOFU_SHA256_ARM64}" /opt/tofu/bin'
    )
    assert run.startswith(expected_call)
    script = FETCH_TOFU.read_text()
    assert "sha256sum --check --strict" in script
    assert re.search(r"amd64\) expected=\$sha_amd64", script)
    assert re.search(r"arm64\) expected=\$sha_arm64", script)


def test_runtime_copies_venv_tofu_and_the_hetzner_module_to_the_default_path(
    containerfile: Containerfile,
) -> None:
    runtime = containerfile.stage("runtime")
    copies = runtime.args("COPY")
    assert "--from=builder /opt/venv /opt/venv" in copies
    assert "--from=tofu /opt/tofu/bin/tofu /usr/local/bin/tofu" in copies
    module_copy = [c for c in copies if c.startswith("infra/hetzner/ ")]
    assert module_copy == ["infra/hetzner/ /infra/hetzner/"]
    target = PurePosixPath(module_copy[0].split()[1])
    assert target == PurePosixPath(str(Settings.from_env({}).tofu_module_path))


def test_runtime_creates_the_data_dirs_0700_owned_by_65534(containerfile: Containerfile) -> None:
    runtime = containerfile.stage("runtime")
    runs = [r for r in runtime.args("RUN") if r.startswith("install -d")]
    assert len(runs) == 1
    words = runs[0].split()
    assert words[:8] == ["install", "-d", "-m", "0700", "-o", "65534", "-g", "65534"]
    assert set(words[8:]) >= DATA_DIRS
    defaults = Settings.from_env({})
    for attr in ("deployments_dir", "kubeconfigs_dir", "executions_dir", "tofu_workdir"):
        assert str(getattr(defaults, attr)) in words, attr
    assert str(defaults.k8scache_snapshot_dir) in words


def test_runtime_runs_as_65534_exposes_8080_and_serves_with_the_console_script(
    containerfile: Containerfile,
) -> None:
    runtime = containerfile.stage("runtime")
    keywords = [kw for kw, _ in runtime.instructions]
    assert runtime.args("USER") == ["65534:65534"]
    assert "RUN" not in keywords[keywords.index("USER") :], "nothing runs as root after USER"
    assert runtime.args("EXPOSE") == [str(Settings.from_env({}).port)]
    assert [json.loads(a) for a in runtime.args("ENTRYPOINT")] == [["catalyst-api", "serve"]]
    assert [json.loads(a) for a in runtime.args("CMD")] == [["--host", "0.0.0.0"]]
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["catalyst-api"] == "catalyst_api.cli:main"
    env = " ".join(runtime.args("ENV"))
    assert "HOME=/home/nonroot" in env
    assert 'PATH="/opt/venv/bin:${PATH}"' in env


def test_containerfile_avoids_common_lint_findings(containerfile: Containerfile) -> None:
    for stage in containerfile.stages:
        for keyword, args in stage.instructions:
            assert keyword != "ADD", "use COPY (hadolint DL3020)"
            assert "sudo " not in args, "no sudo (DL3004)"
            assert ":latest" not in args, "pin image tags (DL3007)"
            if keyword == "RUN":
                assert "|" not in args.replace("||", ""), "pipes need SHELL pipefail (DL4006)"
                assert "cd " not in args, "use WORKDIR (DL3003)"
                if "pip install" in args:
                    assert "--no-cache-dir" in args, "DL3042"
            if keyword == "WORKDIR":
                assert args.startswith("/"), "absolute WORKDIR (DL3000)"


# --- fetch-tofu.sh, run for real --------------------------------------------------------------


@pytest.fixture
def release(tmp_path: Path) -> tuple[str, dict[str, str]]:
    """A local OpenTofu release dir with one zip per arch; returns (base URL, sha per arch)."""
    sums: dict[str, str] = {}
    for arch in ("amd64", "arm64"):
        zip_path = (
            tmp_path / "releases" / f"v{TOFU_VERSION}" / f"tofu_{TOFU_VERSION}_linux_{arch}.zip"
        )
        zip_path.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(zip_path, "w") as archive:
            archive.writestr("tofu", f"#!/bin/sh\necho OpenTofu v{TOFU_VERSION} {arch}\n")
            archive.writestr("LICENSE", "MPL-2.0\n")
        sums[arch] = hashlib.sha256(zip_path.read_bytes()).hexdigest()
    return (tmp_path / "releases").as_uri(), sums


def _fetch(
    run: Callable[..., Any], base_url: str, arch: str, sha_amd64: str, sha_arm64: str, dest: Path
) -> Any:
    env = {**os.environ, "TOFU_RELEASES_URL": base_url, "PYTHON": sys.executable}
    args = ["bash", FETCH_TOFU, TOFU_VERSION, arch, sha_amd64, sha_arm64, dest]
    return run(args, env=env)


@pytest.mark.parametrize("arch", ["amd64", "arm64"])
def test_fetch_tofu_installs_the_binary_whose_checksum_matches_its_arch(
    arch: str, release: tuple[str, dict[str, str]], run: Callable[..., Any], tmp_path: Path
) -> None:
    base_url, sums = release
    result = _fetch(run, base_url, arch, sums["amd64"], sums["arm64"], tmp_path / "bin")
    assert result.returncode == 0, result.stderr
    binary = tmp_path / "bin" / "tofu"
    assert os.access(binary, os.X_OK)
    assert run([binary]).stdout.strip() == f"OpenTofu v{TOFU_VERSION} {arch}"


def test_fetch_tofu_refuses_a_checksum_mismatch(
    release: tuple[str, dict[str, str]], run: Callable[..., Any], tmp_path: Path
) -> None:
    base_url, sums = release
    # The amd64 zip checked against the arm64 sum must not install.
    result = _fetch(run, base_url, "amd64", sums["arm64"], sums["arm64"], tmp_path / "bin")
    assert result.returncode != 0
    assert "FAILED" in result.stdout + result.stderr
    assert not (tmp_path / "bin" / "tofu").exists()


# tofu_1.11.6_SHA256SUMS of the OpenTofu release (issue 17).
PINNED_SHA256 = {
    "TOFU_SHA256_AMD64": "02800fafa2753a9f50c38483e2fdf5bc353fd62895eb9e25eec9a5145df3a69e",
    "TOFU_SHA256_ARM64": "d4f2ab15776925864b049bb329d69682851de6f5204f256e9fa86d07a0308850",
}


def test_containerfile_pins_both_release_checksums(containerfile: Containerfile) -> None:
    args = _arg_defaults(containerfile.stage("tofu"))
    for which, value in PINNED_SHA256.items():
        assert re.fullmatch(r"[0-9a-f]{64}", args[which]), f"{which} is not a 64-hex pin"
        assert args[which] == value, which
    assert args["TOFU_SHA256_AMD64"] != args["TOFU_SHA256_ARM64"]


@pytest.mark.parametrize("arch", ["amd64", "arm64"])
def test_fetch_tofu_with_the_pinned_defaults_refuses_a_zip_that_does_not_match(
    arch: str,
    containerfile: Containerfile,
    release: tuple[str, dict[str, str]],
    run: Callable[..., Any],
    tmp_path: Path,
) -> None:
    """The pins are used for verification: a local zip that is not the release fails the check
    before anything is extracted."""
    args = _arg_defaults(containerfile.stage("tofu"))
    base_url, _ = release
    result = _fetch(
        run, base_url, arch, args["TOFU_SHA256_AMD64"], args["TOFU_SHA256_ARM64"], tmp_path / "bin"
    )
    assert result.returncode != 0
    assert "FAILED" in result.stdout + result.stderr
    assert not (tmp_path / "bin").exists()


@pytest.mark.parametrize(
    "bad", ["", "UNVERIFIED", "02800FAFA2753A9F", "0" * 63, "0" * 65, "g" * 64]
)
def test_fetch_tofu_refuses_anything_but_64_hex_digits_before_downloading(
    bad: str, release: tuple[str, dict[str, str]], run: Callable[..., Any], tmp_path: Path
) -> None:
    base_url, sums = release
    result = _fetch(run, base_url, "amd64", bad, sums["arm64"], tmp_path / "bin")
    assert result.returncode != 0
    assert "no verified SHA-256" in result.stderr
    assert not (tmp_path / "bin" / "tofu").exists()


def test_fetch_tofu_refuses_an_unknown_or_missing_architecture(
    release: tuple[str, dict[str, str]], run: Callable[..., Any], tmp_path: Path
) -> None:
    base_url, sums = release
    for arch in ("", "386", "riscv64"):
        result = _fetch(run, base_url, arch, sums["amd64"], sums["arm64"], tmp_path / "bin")
        assert result.returncode != 0
        assert "unsupported architecture" in result.stderr


# --- build context -------------------------------------------------------------------------


def _ignore_regex(pattern: str) -> re.Pattern[str]:
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out, i = out + pattern[i : end + 1], end + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out + r"\Z")


def in_build_context(path: str, ignore_text: str) -> bool:
    """Docker/buildah .dockerignore semantics: last matching pattern (or parent match) wins."""
    parts = path.split("/")
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    excluded = False
    for line in ignore_text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        regex = _ignore_regex(line.lstrip("!").strip("/"))
        if any(regex.match(c) for c in candidates):
            excluded = not negate
    return not excluded


def _copy_sources(containerfile: Containerfile) -> list[str]:
    sources = []
    for stage in containerfile.stages:
        for copy in stage.args("COPY"):
            words = [w for w in copy.split() if not w.startswith("--")]
            if "--from=" not in copy:
                sources += words[:-1]
    return sources


def test_build_context_holds_every_copy_source_and_no_local_data(
    containerfile: Containerfile,
) -> None:
    ignore = DOCKERIGNORE.read_text()
    for source in _copy_sources(containerfile):
        probe = source.rstrip("/") + ("/x.py" if source.endswith("/") else "")
        assert in_build_context(probe, ignore), f"{source} is excluded from the build context"
    for private in (
        ".catalyst/deployments/abc.json",
        ".catalyst/kubeconfigs/abc.yaml",
        ".venv/bin/python",
        ".git/config",
        "tests/deploy/conftest.py",
        "src/catalyst_api/__pycache__/config.cpython-311.pyc",
        "infra/hetzner/terraform.tfstate",
        "infra/hetzner/tofu.auto.tfvars.json",
        "infra/hetzner/.terraform/providers/x",
        "infra/sandbox/main.tf",
    ):
        assert not in_build_context(private, ignore), f"{private} would be sent to the builder"


def test_the_image_installs_only_the_product_distribution(containerfile: Containerfile) -> None:
    """The sandbox (`catalyst-api-sandbox`, `sandbox/`) never reaches the image: the builder
    copies only `src/`, whose one package is `catalyst_api`, the wheel holds only that package,
    and the build context leaves `sandbox/` out."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert project["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"] == ["src/catalyst_api"]
    packages = {p.name for p in (REPO / "src").iterdir() if (p / "__init__.py").exists()}
    assert packages == {"catalyst_api"}
    assert not (REPO / "src" / "catalyst_api" / "sandbox").exists()
    assert not any(s.startswith("sandbox") for s in _copy_sources(containerfile))
    (run,) = containerfile.stage("builder").args("RUN")
    assert "sandbox" not in run
    ignore = DOCKERIGNORE.read_text()
    for path in ("sandbox/pyproject.toml", "sandbox/src/catalyst_sandbox/wiring.py"):
        assert not in_build_context(path, ignore), f"{path} would be sent to the builder"


def test_the_sandbox_is_a_distribution_of_its_own_on_top_of_the_product() -> None:
    sandbox = tomllib.loads((REPO / "sandbox" / "pyproject.toml").read_text())
    assert sandbox["project"]["name"] == "catalyst-api-sandbox"
    assert sandbox["project"]["dependencies"] == ["catalyst-api==0.1.0"]
    assert sandbox["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"] == [
        "src/catalyst_sandbox"
    ]


def test_every_copy_source_exists_in_the_repository(containerfile: Containerfile) -> None:
    for source in _copy_sources(containerfile):
        assert (REPO / source).exists(), f"COPY source {source} is missing from the repository"
    assert any((REPO / "infra" / "hetzner").glob("*.tf")), "infra/hetzner has no OpenTofu files"
