"""The operations docs stay true to the chart and the service they describe."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from catalyst_api.config import Settings
from catalyst_api.deployments import PHASE0_NAMES, PHASE1_NAMES
from catalyst_api.deployments.machine import orphan_message

DOCS = Path(__file__).resolve().parents[2] / "docs"
OURS = ("CHART-AUTHORING.md", "SECRET-ROTATION.md", "RUNBOOK.md")
# Linked from our docs, written by another owner at the same time: only the link is checked.
WRITTEN_ELSEWHERE = {"API.md", "configuration.md"}
# Environment names in the docs that are not service settings.
NOT_SETTINGS = {"HCLOUD_TOKEN", "GHCR_TOKEN", "DYNADOT_KEY", "DYNADOT_SECRET", "KUBECONFIG"}


def _text(name: str) -> str:
    return (DOCS / name).read_text()


def _anchor(heading: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    slug = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return slug.replace(" ", "-")


def _anchors(text: str) -> set[str]:
    return {_anchor(m.group(1)) for m in re.finditer(r"^#{1,6} (.+)$", text, re.MULTILINE)}


def test_anchor_slugs_follow_github_rules() -> None:
    assert _anchor("Phase 1 watch shows 0 HelmReleases") == "phase-1-watch-shows-0-helmreleases"
    assert _anchor("`tofu-init` failed") == "tofu-init-failed"
    assert _anchor("Is anything in flight?") == "is-anything-in-flight"


def test_rotation_doc_covers_every_secret_the_chart_reads(
    default_deployment: dict[str, Any],
) -> None:
    text = _text("SECRET-ROTATION.md")
    for env in default_deployment["spec"]["template"]["spec"]["containers"][0]["env"]:
        ref = env.get("valueFrom", {}).get("secretKeyRef")
        if ref:
            assert f"`{ref['name']}`" in text, ref["name"]
            assert f"`{ref['key']}`" in text, (ref["name"], ref["key"])
            assert f"`{env['name']}`" in text, env["name"]


def test_rotation_doc_applies_idempotently_restarts_and_verifies_by_byte_count() -> None:
    text = _text("SECRET-ROTATION.md")
    assert "--dry-run=client -o yaml | kubectl apply -f -" in text
    assert text.count("kubectl -n catalyst rollout restart deployment/catalyst-api") >= 2
    assert "wc -c" in text
    assert "--from-literal=token" not in text, "tokens must not go on the command line"
    assert (
        "GHCR pull token is required for managed-pool deployments (CATALYST_GHCR_PULL_TOKEN "
        "missing on catalyst-api — see docs/SECRET-ROTATION.md)"
    ) in text


def test_runbook_lists_every_phase_the_retry_endpoint_accepts() -> None:
    text = _text("RUNBOOK.md")
    assert "POST /api/v1/deployments/{id}/phases/{phase}/retry" in text
    for phase in (*PHASE0_NAMES, *PHASE1_NAMES):
        assert f"`{phase}`" in text, phase
    for phase in PHASE0_NAMES:
        assert _anchor(f"`{phase}` failed") in _anchors(text) or phase == "flux-bootstrap"
    assert '{"hetznerToken":' in text
    assert "credentials-required" in text


def test_runbook_quotes_the_orphan_message_the_service_writes() -> None:
    assert orphan_message("<id>") in _text("RUNBOOK.md")


def test_runbook_has_the_sections_service_messages_point_to() -> None:
    anchors = _anchors(_text("RUNBOOK.md"))
    for section in (
        "fetch-kubeconfig-via-ssh",
        "phase-1-watch-shows-0-helmreleases",
        "rollback-procedures-per-phase",
        "kubeconfig-postback-never-arrived",
        "dns-step-failed",
        "destroy-a-deployment",
        "purge-orphaned-hetzner-resources",
    ):
        assert section in anchors, section


def test_runbook_purges_every_resource_kind_by_label() -> None:
    text = _text("RUNBOOK.md")
    assert "catalyst-deployment-id=$ID" in text
    assert "catalyst.openova.io/sovereign=$FQDN" in text
    loops = re.findall(r"for kind in ([a-z\- ]+);", text)
    for kinds in loops:
        assert set(kinds.split()) == {"server", "load-balancer", "network", "firewall", "ssh-key"}
    assert len(loops) == 2
    assert "DELETE /api/v1/deployments/{id}" in text or "-X DELETE" in text


@pytest.mark.parametrize("doc", OURS)
def test_settings_named_in_the_docs_exist(doc: str) -> None:
    names = set(re.findall(r"\b((?:CATALYST|DYNADOT|POOL_DOMAIN)_[A-Z0-9_]+|PORT)\b", _text(doc)))
    unknown = names - set(Settings.env_names()) - NOT_SETTINGS
    assert not unknown, f"{doc} names settings the service does not read: {sorted(unknown)}"


@pytest.mark.parametrize("doc", OURS)
def test_relative_links_resolve(doc: str) -> None:
    for target in re.findall(r"\]\(([^)\s]+)\)", _text(doc)):
        if re.match(r"[a-z]+://", target):
            continue
        path, _, anchor = target.partition("#")
        name = path or doc
        if name in WRITTEN_ELSEWHERE:
            continue
        assert (DOCS / name).is_file(), f"{doc}: broken link {target}"
        if anchor:
            assert anchor in _anchors(_text(name)), f"{doc}: no heading for #{anchor} in {name}"
