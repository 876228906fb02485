"""TofuProvisioner against real Terraform and small modules with built-in resources only."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import os
import stat
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import SecretStr

from catalyst_api.provisioner import (
    GHCR_TOKEN_REQUIRED,
    ProvisionError,
    RegionSpec,
    TofuProvisioner,
)
from catalyst_api.provisioner.models import flux_bootstrap_banner
from fakes.hcloud.harness import (
    CANARIES,
    CANARY_BEARER,
    CANARY_DYNADOT_KEY,
    CANARY_DYNADOT_SECRET,
    CANARY_GHCR,
    CANARY_HCLOUD,
    TERRAFORM,
    TFVARS_KEYS,
    EventRecorder,
    processes_under,
    provision_job,
)

pytestmark = pytest.mark.timeout(60)  # real OpenTofu runs; the default is 15 s

MakeProvisioner = Callable[..., TofuProvisioner]
WriteModule = Callable[..., Path]

THREE_STEPS = """
resource "terraform_data" "step" {
  count = 3
  input = "step-${count.index}"
}

output "control_plane_ip" {
  value = "203.0.113.10"
}

output "load_balancer_ip" {
  value = "198.51.100.20"
}
"""

BANNER_PHASES = ["tofu-init", "tofu-plan", "tofu-apply", "tofu-output", "flux-bootstrap"]

SECRET_KEYS = (
    "hcloud_token",
    "dynadot_key",
    "dynadot_secret",
    "ghcr_pull_token",
    "kubeconfig_bearer_token",
)
SECRET_DIGESTS = "".join(
    f'output "sha_{key}" {{\n  value = nonsensitive(sha256(var.{key}))\n}}\n' for key in SECRET_KEYS
)
"""Outputs proving which secret value each variable received, without printing it."""


def _sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _non_tofu(recorder: EventRecorder) -> list[str]:
    return [p for p in recorder.phases() if p != "tofu"]


async def test_apply_streams_banners_in_order_with_tofu_lines_between(
    make_provisioner: MakeProvisioner, write_module: WriteModule, events: EventRecorder
) -> None:
    prov = make_provisioner(write_module(THREE_STEPS))

    await prov.apply(provision_job(), events)

    assert _non_tofu(events) == BANNER_PHASES
    assert events.events[0].message == "Initialising OpenTofu working directory"
    assert events.messages("tofu-plan") == [
        "Planning Hetzner resources (network, firewall, server, LB, DNS)"
    ]
    assert events.messages("tofu-apply") == [
        "Applying — this provisions real Hetzner resources, please wait"
    ]
    assert events.messages("tofu-output") == ["Reading OpenTofu outputs"]
    assert events.events[-1].message == flux_bootstrap_banner("acme.omani.works")
    phases = events.phases()
    for banner, following in itertools.pairwise(BANNER_PHASES[:4]):
        between = phases[phases.index(banner) + 1 : phases.index(following)]
        assert between, f"no tofu lines after {banner}"
        assert set(between) == {"tofu"}
    # init prints plain text (info), plan/apply print the machine-readable UI
    assert "Terraform has been successfully initialized!" in events.messages("tofu", "info")
    assert "Plan: 3 to add, 0 to change, 0 to destroy." in events.messages("tofu")
    assert "Apply complete! Resources: 3 added, 0 changed, 0 destroyed." in events.messages("tofu")
    assert all(e.component == "" and e.state == "" for e in events.events)


async def test_progress_counts_planned_changes_and_ends_with_done_equal_total(
    make_provisioner: MakeProvisioner, write_module: WriteModule, events: EventRecorder
) -> None:
    prov = make_provisioner(write_module(THREE_STEPS))

    await prov.apply(provision_job(), events)

    with_progress = [e for e in events.events if e.progress is not None]
    assert with_progress, "no event carried progress"
    assert all(e.phase == "tofu" for e in with_progress)
    assert {e.progress["total"] for e in with_progress if e.progress} == {3}
    dones = [e.progress["done"] for e in with_progress if e.progress]
    assert dones == sorted(dones), "done went backwards"
    assert dones[0] == 0
    apply_index = events.phases().index("tofu-apply")
    output_index = events.phases().index("tofu-output")
    last_apply = [e for e in events.events[apply_index:output_index] if e.progress][-1]
    assert last_apply.progress == {"done": 3, "total": 3}
    # lines before the plan is known carry no progress
    plan_index = events.phases().index("tofu-plan")
    first_plan_line = events.events[plan_index + 1]
    assert first_plan_line.progress is None


async def test_outputs_keep_only_string_ips_and_derive_urls_from_the_fqdn(
    make_provisioner: MakeProvisioner, write_module: WriteModule, events: EventRecorder
) -> None:
    module = write_module(
        """
output "control_plane_ip" {
  value = 42
}

output "load_balancer_ip" {
  value = "198.51.100.20"
}

output "hidden" {
  value     = "s3cret-output"
  sensitive = true
}
"""
    )
    prov = make_provisioner(module)

    outputs = await prov.apply(provision_job(sovereign_fqdn="k8s.acme.example"), events)

    assert outputs.control_plane_ip == ""
    assert outputs.load_balancer_ip == "198.51.100.20"
    assert outputs.sovereign_fqdn == "k8s.acme.example"
    assert outputs.console_url == "https://console.k8s.acme.example"
    assert outputs.gitops_repo_url == "https://gitea.k8s.acme.example"
    assert outputs.raw == {"control_plane_ip": 42, "load_balancer_ip": "198.51.100.20"}


async def test_invalid_input_fails_at_plan_with_the_validation_message_in_error_events(
    make_provisioner: MakeProvisioner, write_module: WriteModule, events: EventRecorder
) -> None:
    module = write_module(
        """
locals {
  regions_ok = contains(["fsn1", "nbg1"], var.region)
}

resource "terraform_data" "guard" {
  input = var.region
  lifecycle {
    precondition {
      condition     = local.regions_ok
      error_message = "region must be one of fsn1, nbg1."
    }
  }
}
"""
    )
    prov = make_provisioner(module)

    with pytest.raises(ProvisionError) as caught:
        await prov.apply(provision_job(region="mars1"), events)

    assert str(caught.value) == (
        "tofu plan: terraform plan -input=false -no-color -json -out=tfplan failed: exit status 1"
    )
    assert caught.value.step == "plan"
    errors = events.messages("tofu", "error")
    assert any("region must be one of fsn1, nbg1." in m for m in errors), errors
    assert any("region must be one of fsn1, nbg1." in d for d in caught.value.diagnostics)
    assert "tofu-apply" not in events.phases()
    assert not (prov.workdir_for("acme.omani.works") / "tfplan").exists()


async def test_failed_apply_names_the_command_that_ran_and_removes_the_plan_file(
    make_provisioner: MakeProvisioner, write_module: WriteModule, events: EventRecorder
) -> None:
    module = write_module(
        """
resource "terraform_data" "boom" {
  provisioner "local-exec" {
    command = "echo about to fail; exit 3"
  }
}
"""
    )
    prov = make_provisioner(module)

    with pytest.raises(ProvisionError) as caught:
        await prov.apply(provision_job(), events)

    assert str(caught.value) == (
        "tofu apply: terraform apply -input=false -no-color -json -auto-approve tfplan failed: "
        "exit status 1"
    )
    assert any("about to fail" in m for m in events.messages("tofu"))
    assert any("local-exec provisioner error" in m for m in events.messages("tofu", "error"))
    assert not (prov.workdir_for("acme.omani.works") / "tfplan").exists()


async def test_stderr_lines_are_warn_events_and_errors_name_the_configured_binary(
    tmp_path: Path, make_provisioner: MakeProvisioner, write_module: WriteModule
) -> None:
    wrapper = tmp_path / "bin" / "tofu"
    wrapper.parent.mkdir()
    wrapper.write_text(
        f'#!/bin/sh\necho "wrapper: running $1" >&2\necho "  " >&2\nexec {TERRAFORM} "$@"\n'
    )
    wrapper.chmod(0o755)
    module = write_module('resource "terraform_data" "x" {\n  input = var.nope\n}\n')
    prov = make_provisioner(module, binary=wrapper)
    recorder = EventRecorder()

    with pytest.raises(ProvisionError) as caught:
        await prov.apply(provision_job(), recorder)

    warns = recorder.messages("tofu", "warn")
    assert "wrapper: running init" in warns
    assert "wrapper: running plan" in warns
    assert "" not in recorder.messages(), "blank lines must be skipped"
    assert str(caught.value).startswith("tofu plan: tofu plan -input=false -no-color -json")


async def test_timeout_interrupts_tofu_names_the_step_and_leaves_no_process_behind(
    make_provisioner: MakeProvisioner, write_module: WriteModule, events: EventRecorder
) -> None:
    module = write_module(
        """
resource "terraform_data" "slow" {
  provisioner "local-exec" {
    command = "sleep 47"
  }
}
"""
    )
    steps: list[tuple[str, str]] = []
    prov = make_provisioner(
        module, timeout="2s", grace=1.0, on_step_finished=lambda s, o: steps.append((s, o))
    )
    workdir = prov.workdir_for("acme.omani.works")

    started = time.monotonic()
    with pytest.raises(ProvisionError) as caught:
        await prov.apply(provision_job(), events)

    assert str(caught.value) == "tofu apply: timed out after 2s"
    assert time.monotonic() - started < 15
    assert steps[-1] == ("apply", "timeout")
    assert any("timed out after 2s" in m for m in events.messages("tofu", "error"))
    assert processes_under(workdir) == []
    assert not (workdir / "tfplan").exists()


async def test_cancellation_stops_the_process_tree_and_reraises(
    make_provisioner: MakeProvisioner, write_module: WriteModule, events: EventRecorder
) -> None:
    module = write_module(
        """
resource "terraform_data" "slow" {
  count = 2
  provisioner "local-exec" {
    command = "sleep 53"
  }
}
"""
    )
    steps: list[tuple[str, str]] = []
    prov = make_provisioner(module, on_step_finished=lambda s, o: steps.append((s, o)))
    workdir = prov.workdir_for("acme.omani.works")
    task = asyncio.create_task(prov.apply(provision_job(), events))
    deadline = time.monotonic() + 20
    while not any("Provisioning with 'local-exec'" in m for m in events.messages("tofu")):
        assert time.monotonic() < deadline, "local-exec never started"
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.2)
    assert processes_under(workdir), "expected tofu and sleep to be running"

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert processes_under(workdir) == []
    assert steps[-1] == ("apply", "cancelled")
    assert not (workdir / "tfplan").exists()
    assert any("cancelled" in m for m in events.messages("tofu", "warn"))


async def test_a_tree_that_ignores_sigint_gets_sigterm_then_sigkill(
    tmp_path: Path, make_provisioner: MakeProvisioner, write_module: WriteModule
) -> None:
    # A Python stub, not sh: a shell cannot trap a signal that was ignored when it started
    # (pytest run as a background job inherits SIGINT ignored), Python can. The stop is
    # triggered only once the stub reports its handlers are installed: a signal sent before
    # that would kill it or be lost, whatever the machine's speed.
    log = tmp_path / "signals.log"
    stubborn = tmp_path / "bin" / "tofu"
    stubborn.parent.mkdir()
    stubborn.write_text(
        f"#!{sys.executable}\n"
        "import signal, time\n"
        f"log = open({str(log)!r}, 'a', buffering=1)\n"
        "def note(signum, _frame):\n"
        "    log.write(signal.Signals(signum).name + '\\n')\n"
        "signal.signal(signal.SIGINT, note)\n"
        "signal.signal(signal.SIGTERM, note)\n"
        "log.write('ready\\n')\n"
        "while True:\n"
        "    time.sleep(0.05)\n"
    )
    stubborn.chmod(0o755)
    prov = make_provisioner(write_module(THREE_STEPS), binary=stubborn, timeout="10m", grace=0.5)
    task = asyncio.create_task(prov.apply(provision_job(), EventRecorder()))
    async with asyncio.timeout(30):
        while not (log.exists() and log.read_text().startswith("ready")):
            await asyncio.sleep(0.02)

    started = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert time.monotonic() - started >= 2 * 0.5 - 0.1
    assert log.read_text().split() == ["ready", "SIGINT", "SIGTERM"]
    assert processes_under(prov.workdir_for("acme.omani.works")) == []


async def test_retry_reuses_the_state_and_plans_no_changes(
    make_provisioner: MakeProvisioner, write_module: WriteModule
) -> None:
    prov = make_provisioner(write_module(THREE_STEPS))
    await prov.apply(provision_job(), EventRecorder())
    assert prov.has_state("acme.omani.works")

    again = EventRecorder()
    outputs = await prov.apply(provision_job(), again)

    assert "Plan: 0 to add, 0 to change, 0 to destroy." in again.messages("tofu")
    assert [e.progress for e in again.events if e.progress][-1] == {"done": 0, "total": 0}
    assert outputs.load_balancer_ip == "198.51.100.20"


async def test_destroy_streams_progress_and_empties_the_state(
    make_provisioner: MakeProvisioner, write_module: WriteModule
) -> None:
    steps: list[tuple[str, str]] = []
    prov = make_provisioner(
        write_module(THREE_STEPS), on_step_finished=lambda s, o: steps.append((s, o))
    )
    await prov.apply(provision_job(), EventRecorder())
    recorder = EventRecorder()

    await prov.destroy(provision_job(), recorder)

    assert [p for p in recorder.phases() if p != "tofu"] == ["tofu-init", "tofu-destroy"]
    assert "Destroy complete! Resources: 3 destroyed." in recorder.messages("tofu")
    assert [e.progress for e in recorder.events if e.progress][-1] == {"done": 3, "total": 3}
    assert not prov.has_state("acme.omani.works")
    workdir = prov.workdir_for("acme.omani.works")
    assert not (workdir / "tofu.auto.tfvars.json").exists()
    assert steps[-2:] == [("init", "ok"), ("destroy", "ok")]


async def test_destroy_without_state_does_nothing(
    make_provisioner: MakeProvisioner, write_module: WriteModule, events: EventRecorder
) -> None:
    prov = make_provisioner(write_module(THREE_STEPS))

    await prov.destroy(provision_job(), events)

    assert events.phases() == ["tofu-destroy"]
    assert "nothing to destroy" in events.events[0].message
    assert not prov.workdir_for("acme.omani.works").exists()


async def test_missing_binary_fails_immediately_without_writing_anything(
    tmp_path: Path, make_provisioner: MakeProvisioner, write_module: WriteModule
) -> None:
    prov = make_provisioner(write_module(THREE_STEPS), binary="tofu-not-installed")
    recorder = EventRecorder()

    with pytest.raises(ProvisionError) as caught:
        await prov.apply(provision_job(), recorder)

    assert str(caught.value) == (
        'tofu init: exec: "tofu-not-installed": executable file not found in $PATH'
    )
    assert recorder.events == []
    assert not (tmp_path / "tofu").exists()


async def test_pool_mode_without_ghcr_token_fails_before_running(
    make_provisioner: MakeProvisioner, write_module: WriteModule, events: EventRecorder
) -> None:
    prov = make_provisioner(write_module(THREE_STEPS))

    with pytest.raises(ProvisionError) as caught:
        await prov.apply(provision_job(ghcr_pull_token=SecretStr("  ")), events)

    assert str(caught.value) == GHCR_TOKEN_REQUIRED
    assert events.events == []


async def test_byo_mode_runs_without_ghcr_token(
    make_provisioner: MakeProvisioner, write_module: WriteModule, events: EventRecorder
) -> None:
    prov = make_provisioner(write_module(THREE_STEPS))

    await prov.apply(provision_job(domain_mode="byo-api", ghcr_pull_token=SecretStr("")), events)

    assert events.phases()[-1] == "flux-bootstrap"


def _tfvars(prov: TofuProvisioner, fqdn: str = "acme.omani.works") -> dict[str, object]:
    loaded: dict[str, object] = json.loads(
        (prov.workdir_for(fqdn) / "tofu.auto.tfvars.json").read_text()
    )
    return loaded


async def test_tfvars_hold_every_plain_key_and_secrets_reach_tofu_only_as_tf_var(
    make_provisioner: MakeProvisioner, write_module: WriteModule
) -> None:
    prov = make_provisioner(write_module(THREE_STEPS + SECRET_DIGESTS), gitops_branch="release")
    region = RegionSpec(
        provider="hetzner", cloud_region="fsn1", control_plane_size="cpx31", worker_size="cpx41"
    )

    outputs = await prov.apply(provision_job(regions=[region]), EventRecorder())

    path = prov.workdir_for("acme.omani.works") / "tofu.auto.tfvars.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().startswith('{\n  "sovereign_fqdn": "acme.omani.works",\n')
    values = _tfvars(prov)
    assert tuple(values) == tuple(k for k in TFVARS_KEYS if k not in SECRET_KEYS)
    for canary in CANARIES:
        assert canary not in path.read_text()
    assert outputs.raw["sha_hcloud_token"] == _sha(CANARY_HCLOUD)
    assert outputs.raw["sha_ghcr_pull_token"] == _sha(CANARY_GHCR)
    assert outputs.raw["sha_kubeconfig_bearer_token"] == _sha(CANARY_BEARER)
    assert outputs.raw["sha_dynadot_key"] == _sha(CANARY_DYNADOT_KEY)
    assert outputs.raw["sha_dynadot_secret"] == _sha(CANARY_DYNADOT_SECRET)
    assert values["regions"] == [
        {
            "provider": "hetzner",
            "cloudRegion": "fsn1",
            "controlPlaneSize": "cpx31",
            "workerSize": "cpx41",
            "workerCount": 0,
        }
    ]
    assert values["gitops_branch"] == "release"
    assert values["gitops_repo_url"] == "https://github.com/openova-io/openova"
    assert values["catalyst_api_url"] == "https://catalyst.example.test"
    assert values["deployment_id"] == "0123456789abcdef"
    assert values["worker_count"] == 1
    assert values["ha_enabled"] is False


async def test_a_stale_tfvars_file_with_secrets_cannot_override_the_run_secrets(
    make_provisioner: MakeProvisioner, write_module: WriteModule
) -> None:
    prov = make_provisioner(write_module(SECRET_DIGESTS))
    workdir = prov.workdir_for("acme.omani.works")
    workdir.mkdir(parents=True)
    (workdir / "tofu.auto.tfvars.json").write_text(json.dumps({"hcloud_token": "old-token"}))

    outputs = await prov.apply(provision_job(), EventRecorder())

    assert outputs.raw["sha_hcloud_token"] == _sha(CANARY_HCLOUD)
    assert "old-token" not in (workdir / "tofu.auto.tfvars.json").read_text()


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("pool", "pool"), ("byo", "byo"), ("byo-manual", "byo"), ("byo-api", "byo")],
    ids=["pool", "byo", "byo-manual", "byo-api"],
)
async def test_domain_mode_reaches_the_module_as_pool_or_byo(
    mode: str, expected: str, make_provisioner: MakeProvisioner, write_module: WriteModule
) -> None:
    prov = make_provisioner(write_module(SECRET_DIGESTS))

    outputs = await prov.apply(provision_job(domain_mode=mode), EventRecorder())

    values = _tfvars(prov)
    assert values["domain_mode"] == expected
    assert values["regions"] == []
    empty = (outputs.raw["sha_dynadot_key"], outputs.raw["sha_dynadot_secret"]) == (
        _sha(""),
        _sha(""),
    )
    assert empty is (expected != "pool")


async def test_ghcr_token_falls_back_to_the_configured_one(
    make_provisioner: MakeProvisioner, write_module: WriteModule
) -> None:
    prov = make_provisioner(write_module(SECRET_DIGESTS), ghcr_pull_token="configured-ghcr-token")

    outputs = await prov.apply(provision_job(ghcr_pull_token=SecretStr("")), EventRecorder())

    assert outputs.raw["sha_ghcr_pull_token"] == _sha("configured-ghcr-token")


async def test_a_job_without_a_recorded_workdir_uses_the_legacy_fqdn_dashed_name(
    tmp_path: Path, make_provisioner: MakeProvisioner, write_module: WriteModule
) -> None:
    module = write_module(THREE_STEPS)
    (module / "cloudinit.tftpl").write_text("#cloud-config\n")
    (module / "README.md").write_text("not staged\n")
    (module / "nested").mkdir()
    (module / "nested" / "skip.tf").write_text("# not staged\n")
    prov = make_provisioner(module)
    workdir = tmp_path / "tofu" / "acme-omani-works"
    workdir.mkdir(parents=True)
    (workdir / "stale.tf").write_text('resource "terraform_data" "stale" {}\n')

    await prov.apply(provision_job(), EventRecorder())

    assert prov.workdir_for("acme.omani.works") == workdir
    assert stat.S_IMODE(workdir.stat().st_mode) == 0o700
    staged = sorted(p.name for p in workdir.iterdir() if p.suffix in (".tf", ".tftpl"))
    assert staged == ["cloudinit.tftpl", "main.tf", "variables.tf"]
    for name in staged:
        assert stat.S_IMODE((workdir / name).stat().st_mode) == 0o600
    assert not (workdir / "README.md").exists()


async def test_tofu_runs_with_our_cli_config_and_without_our_secrets_in_its_environment(
    make_provisioner: MakeProvisioner, write_module: WriteModule, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CATALYST_GHCR_PULL_TOKEN", "env-ghcr-secret")
    module = write_module(
        """
resource "terraform_data" "env" {
  provisioner "local-exec" {
    command = "env | sort"
  }
}
"""
    )
    prov = make_provisioner(module)
    recorder = EventRecorder()

    await prov.apply(provision_job(), recorder)

    text = recorder.text()
    workdir = prov.workdir_for("acme.omani.works")
    assert f"TF_CLI_CONFIG_FILE={workdir / 'cli.tfrc'}" in text
    for setting in ("TF_IN_AUTOMATION=1", "TF_INPUT=0", "CHECKPOINT_DISABLE=1"):
        assert setting in text
    for key in SECRET_KEYS:  # the run's own secrets: in the child's environment only
        assert f"TF_VAR_{key}=<redacted>" in text
    assert "env-ghcr-secret" not in text
    assert "CATALYST_" not in text


async def test_secrets_printed_by_tofu_never_reach_events(
    make_provisioner: MakeProvisioner, write_module: WriteModule, events: EventRecorder
) -> None:
    module = write_module(
        """
resource "terraform_data" "leak" {
  provisioner "local-exec" {
    command = <<-EOT
      echo token=${nonsensitive(var.hcloud_token)} ghcr=${nonsensitive(var.ghcr_pull_token)}
    EOT
  }
}
"""
    )
    prov = make_provisioner(module)

    await prov.apply(provision_job(), events)

    assert any("token=<redacted> ghcr=<redacted>" in m for m in events.messages("tofu"))
    for canary in CANARIES:
        assert canary not in events.text()


async def test_a_second_run_for_the_same_fqdn_is_refused_while_one_is_running(
    make_provisioner: MakeProvisioner, write_module: WriteModule
) -> None:
    module = write_module(
        """
resource "terraform_data" "slow" {
  provisioner "local-exec" {
    command = "sleep 1"
  }
}
"""
    )
    prov = make_provisioner(module)
    first = asyncio.create_task(prov.apply(provision_job(), EventRecorder()))
    await asyncio.sleep(0.05)

    with pytest.raises(ProvisionError, match="another OpenTofu run is in progress"):
        await prov.apply(provision_job(), EventRecorder())

    await first


async def test_on_step_finished_reports_every_step(
    make_provisioner: MakeProvisioner, write_module: WriteModule
) -> None:
    steps: list[tuple[str, str]] = []
    prov = make_provisioner(
        write_module(THREE_STEPS), on_step_finished=lambda s, o: steps.append((s, o))
    )

    await prov.apply(provision_job(), EventRecorder())

    assert steps == [("init", "ok"), ("plan", "ok"), ("apply", "ok"), ("output", "ok")]


async def test_plan_file_never_outlives_the_run(
    make_provisioner: MakeProvisioner, write_module: WriteModule
) -> None:
    prov = make_provisioner(write_module(THREE_STEPS))

    await prov.apply(provision_job(), EventRecorder())

    workdir = prov.workdir_for("acme.omani.works")
    assert not (workdir / "tfplan").exists()
    assert (workdir / "terraform.tfstate").exists()
    assert os.listdir(workdir)


async def test_a_missing_module_directory_fails_staging(
    tmp_path: Path, make_provisioner: MakeProvisioner, events: EventRecorder
) -> None:
    prov = make_provisioner(tmp_path / "no-such-module")

    with pytest.raises(ProvisionError, match=r"^stage tofu module: module directory .* not exist"):
        await prov.apply(provision_job(), events)

    assert events.events == []


@pytest.mark.parametrize("fqdn", ["../etc", "a/b.example", "", ".hidden"])
async def test_fqdns_that_could_escape_the_workdir_root_are_refused(
    fqdn: str, tmp_path: Path, make_provisioner: MakeProvisioner, write_module: WriteModule
) -> None:
    prov = make_provisioner(write_module(THREE_STEPS))

    with pytest.raises(ProvisionError, match=r"^create workdir: invalid sovereign FQDN"):
        await prov.apply(provision_job(sovereign_fqdn=fqdn, domain_mode="byo"), EventRecorder())

    assert not prov.has_state(fqdn)
    assert not (tmp_path / "tofu").exists() or not any((tmp_path / "tofu").iterdir())
