"""Workdir names are injective (issue 10): two FQDNs, or two deployments, never share one
OpenTofu state; jobs without a recorded name keep the original's `<fqdn-dashed>` workdir."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from catalyst_api.provisioner import ProvisionError, TofuProvisioner
from catalyst_api.provisioner.workdir import check_workdir_name, new_workdir_name, workdir_name
from fakes.hcloud.harness import EventRecorder, provision_job

pytestmark = pytest.mark.timeout(60)  # real OpenTofu runs; the default is 15 s

MakeProvisioner = Callable[..., TofuProvisioner]
WriteModule = Callable[..., Path]

PER_FQDN = """
resource "terraform_data" "server" {
  count = 2
  input = "${var.sovereign_fqdn}/${count.index}"
}

output "load_balancer_ip" {
  value = "198.51.100.20"
}
"""

A_ID, B_ID = "00000000000000aa", "00000000000000bb"


def _state_inputs(workdir: Path) -> list[str]:
    state = json.loads((workdir / "terraform.tfstate").read_text())
    return sorted(
        inst["attributes"]["input"]["value"]
        for res in state["resources"]
        for inst in res["instances"]
        if res["type"] == "terraform_data"
    )


def test_the_two_colliding_fqdns_get_different_names_none_of_them_legacy() -> None:
    dotted = new_workdir_name("coll.example.test", A_ID)
    dashed = new_workdir_name("coll-example.test", B_ID)

    assert workdir_name("coll.example.test") == workdir_name("coll-example.test")  # the bug
    assert dotted == "coll.example.test.00000000000000aa"
    assert dashed == "coll-example.test.00000000000000bb"
    assert new_workdir_name("coll.example.test", A_ID) != new_workdir_name(
        "coll.example.test", B_ID
    )
    assert new_workdir_name("Coll.Example.Test ", A_ID) == dotted


_label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)
_fqdn = st.lists(_label, min_size=1, max_size=6).map(".".join)
_id = st.from_regex(r"[0-9a-f]{16}", fullmatch=True)


@given(_fqdn, _id, _fqdn, _id)
def test_new_names_are_injective_and_never_a_legacy_name(
    fqdn_a: str, id_a: str, fqdn_b: str, id_b: str
) -> None:
    a = new_workdir_name(fqdn_a, id_a)
    b = new_workdir_name(fqdn_b, id_b)
    assert (a == b) is (id_a == id_b and fqdn_a == fqdn_b)
    assert a != workdir_name(fqdn_b)  # legacy names have no "."
    assert check_workdir_name(a) == a
    assert a.startswith(fqdn_a[:100])


def test_a_253_character_fqdn_still_fits_name_max() -> None:
    fqdn = ".".join(["a" * 63] * 3 + ["b" * 61])
    assert len(fqdn) == 253

    name = new_workdir_name(fqdn, A_ID)

    assert len(name.encode()) <= 255
    assert name.endswith("." + A_ID)


@pytest.mark.parametrize("bad", ["", ".", "..", "../x", "a/b", ".hidden", "x\x00y", "a" * 256])
def test_recorded_names_that_are_not_one_plain_path_component_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="invalid OpenTofu workdir name"):
        check_workdir_name(bad)


def test_unsafe_characters_never_reach_the_name() -> None:
    name = new_workdir_name("../../tmp/x", A_ID)
    assert name == "_.._tmp_x." + A_ID
    assert check_workdir_name(name) == name
    assert new_workdir_name("", A_ID) == "sovereign." + A_ID


async def test_colliding_fqdns_keep_separate_states_and_destroying_one_keeps_the_other(
    make_provisioner: MakeProvisioner, write_module: WriteModule
) -> None:
    prov = make_provisioner(write_module(PER_FQDN))
    dotted = provision_job(
        deployment_id=A_ID,
        sovereign_fqdn="coll.example.test",
        domain_mode="byo",
        workdir=new_workdir_name("coll.example.test", A_ID),
    )
    dashed = provision_job(
        deployment_id=B_ID,
        sovereign_fqdn="coll-example.test",
        domain_mode="byo",
        workdir=new_workdir_name("coll-example.test", B_ID),
    )

    await prov.apply(dotted, EventRecorder())
    second = EventRecorder()
    await prov.apply(dashed, second)

    assert "Plan: 2 to add, 0 to change, 0 to destroy." in second.messages("tofu")
    dotted_dir = prov.workdir_for(dotted.sovereign_fqdn, dotted.workdir)
    dashed_dir = prov.workdir_for(dashed.sovereign_fqdn, dashed.workdir)
    assert dotted_dir != dashed_dir
    assert _state_inputs(dotted_dir) == ["coll.example.test/0", "coll.example.test/1"]
    assert _state_inputs(dashed_dir) == ["coll-example.test/0", "coll-example.test/1"]
    assert not (prov.workdir_for("coll.example.test")).exists()  # no legacy dir involved

    await prov.destroy(dotted, EventRecorder())

    assert not prov.has_state(dotted.sovereign_fqdn, workdir=dotted.workdir)
    assert prov.has_state(dashed.sovereign_fqdn, workdir=dashed.workdir)
    assert _state_inputs(dashed_dir) == ["coll-example.test/0", "coll-example.test/1"]


async def test_runs_in_two_workdirs_may_overlap_but_not_in_one(
    make_provisioner: MakeProvisioner, write_module: WriteModule
) -> None:
    prov = make_provisioner(write_module(PER_FQDN))
    name = new_workdir_name("coll.example.test", A_ID)
    legacy = provision_job(sovereign_fqdn="coll.example.test", domain_mode="byo")
    recorded = provision_job(sovereign_fqdn="coll.example.test", domain_mode="byo", workdir=name)

    # The busy lock is per workdir: the legacy and the recorded workdir are different ones.
    with prov._exclusive(legacy):
        with (
            pytest.raises(ProvisionError, match="another OpenTofu run is in progress"),
            prov._exclusive(legacy),
        ):
            pass
        with prov._exclusive(recorded):
            pass


async def test_a_job_without_a_recorded_name_continues_from_the_legacy_workdir(
    make_provisioner: MakeProvisioner, write_module: WriteModule
) -> None:
    prov = make_provisioner(write_module(PER_FQDN))
    legacy = provision_job(sovereign_fqdn="k8s.acme.example", domain_mode="byo")
    await prov.apply(legacy, EventRecorder())
    legacy_dir = prov.workdir_for("k8s.acme.example")
    assert legacy_dir.name == "k8s-acme-example"
    assert prov.has_state("k8s.acme.example", workdir="")

    again = EventRecorder()
    await prov.apply(legacy, again)
    assert "Plan: 0 to add, 0 to change, 0 to destroy." in again.messages("tofu")

    await prov.destroy(legacy, EventRecorder())
    assert not prov.has_state("k8s.acme.example", workdir="")
    assert sorted(p.name for p in legacy_dir.parent.iterdir()) == ["k8s-acme-example"]
