"""The bootstrap kit is typed out once (`catalyst_api.wire.kit`), in neither distribution's
other modules, and is a consistent DAG."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from catalyst_api.wire import kit

REPO = Path(__file__).resolve().parents[2]
SOURCES = (REPO / "src", REPO / "sandbox" / "src")  # catalyst-api and catalyst-api-sandbox
KIT_MODULE = REPO / "src" / "catalyst_api" / "wire" / "kit.py"


def _python_sources() -> list[Path]:
    return sorted(p for src in SOURCES for p in src.rglob("*.py") if p.resolve() != KIT_MODULE)


def test_no_module_but_the_kit_types_out_the_component_names() -> None:
    # Components whose names appear nowhere else as plain words (`flux`, `spire`… do).
    distinctive = ("nats-jetstream", "sealed-secrets", "crossplane", "openbao", "keycloak")
    names = "|".join(map(re.escape, distinctive))
    literal = re.compile(rf"""["'](?:bp-)?({names})["']""")
    offenders = {
        f"{path.relative_to(REPO)}: {match.group(0)}"
        for path in _python_sources()
        for match in literal.finditer(path.read_text(encoding="utf-8"))
    }
    assert offenders == set()


def test_no_module_but_the_kit_lists_the_phase0_steps() -> None:
    listing = re.compile(r"""["']tofu-init["']\s*,\s*["']tofu-plan["']""")
    offenders = [
        str(p.relative_to(REPO))
        for p in _python_sources()
        if listing.search(p.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_the_kit_has_eleven_components_in_dependency_order() -> None:
    assert len(kit.COMPONENTS) == 11
    assert kit.install_order() == kit.COMPONENT_IDS
    # The original's HelmReleases' dependsOn (issue 14): a DAG rooted at cilium, not a chain.
    assert {c.id: c.depends_on for c in kit.COMPONENTS} == {
        "cilium": (),
        "cert-manager": ("cilium",),
        "flux": ("cert-manager",),
        "crossplane": ("flux",),
        "sealed-secrets": ("cert-manager",),
        "spire": ("cert-manager",),
        "nats-jetstream": ("spire",),
        "openbao": ("spire",),
        "keycloak": ("cert-manager",),
        "gitea": ("keycloak",),
        "catalyst-platform": ("gitea",),
    }


def test_release_names_carry_the_bp_prefix() -> None:
    assert kit.component("catalyst-platform").release == "bp-catalyst-platform"
    assert {c.release for c in kit.COMPONENTS} == {f"bp-{i}" for i in kit.COMPONENT_IDS}


def test_the_retry_route_keeps_the_originals_phase1_spelling() -> None:
    assert kit.PHASE1_RETRY_NAMES[6] == "jetstream"
    assert kit.PHASE1_RETRY_NAMES[-1] == "bp-catalyst-platform"
    assert kit.PHASE1_RETRY_NAMES[:6] == kit.COMPONENT_IDS[:6]


def test_install_order_refuses_a_cycle_and_an_unknown_dependency() -> None:
    a = kit.Component(id="a", target_namespace="x", depends_on=("b",))
    b = kit.Component(id="b", target_namespace="x", depends_on=("a",))
    with pytest.raises(ValueError, match="cycle"):
        kit.install_order((a, b))
    with pytest.raises(ValueError, match="unknown"):
        kit.install_order((a,))


def test_server_client_and_sandbox_read_the_same_kit() -> None:
    from catalyst_api.client import view
    from catalyst_api.deployments import PHASE0_NAMES, PHASE1_NAMES
    from catalyst_sandbox import kit as sandbox_kit

    assert view.BOOTSTRAP_KIT is kit.COMPONENT_IDS
    assert sandbox_kit.COMPONENTS is kit.COMPONENTS
    assert PHASE1_NAMES is kit.PHASE1_RETRY_NAMES
    assert PHASE0_NAMES is kit.PHASE0_STEPS
