"""With a database, OpenTofu keeps each deployment's state in PostgreSQL (`backend "pg"`, one
schema per deployment): a provisioner with another, empty workdir root — another replica —
retries and destroys from it, and no state or tfvars file rests in the workdir (issue 16)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from catalyst_api.provisioner import TofuProvisioner
from catalyst_api.provisioner.workdir import new_workdir_name
from fakes.hcloud.harness import EventRecorder, provision_job
from support.postgres import PostgresServer

pytestmark = pytest.mark.timeout(90)  # real OpenTofu runs against PostgreSQL

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
DEP = "0123456789abcdef"
FQDN = "acme.omani.works"


async def test_state_in_postgres_lets_another_replica_retry_and_destroy(
    postgres_server: PostgresServer,
    make_provisioner: Callable[..., TofuProvisioner],
    write_module: Callable[..., Path],
    tmp_path: Path,
) -> None:
    url = postgres_server.create_database()
    module = write_module(THREE_STEPS)
    job = provision_job(deployment_id=DEP, workdir=new_workdir_name(FQDN, DEP))
    first = make_provisioner(module, database_url=url, tofu_workdir=tmp_path / "a")
    second = make_provisioner(module, database_url=url, tofu_workdir=tmp_path / "b")

    recorder = EventRecorder()
    await first.apply(job, recorder)
    workdir = first.workdir_for(FQDN, job.workdir)
    assert not (workdir / "terraform.tfstate").exists()
    assert not (workdir / "tofu.auto.tfvars.json").exists()  # the workdir keeps no inputs
    assert url not in " ".join(e.message for e in recorder.events)
    with psycopg.connect(url) as conn:
        row = conn.execute(f"SELECT array_agg(name) FROM tofu_{DEP}.states").fetchone()
    assert row is not None and row[0] == ["default"]
    assert second.has_state(FQDN, workdir=job.workdir)  # read from the database

    again = EventRecorder()
    await second.apply(job, again)  # another replica, empty workdir root
    assert "Plan: 0 to add, 0 to change, 0 to destroy." in again.messages("tofu")

    gone = EventRecorder()
    await second.destroy(job, gone)
    assert "Destroy complete! Resources: 3 destroyed." in gone.messages("tofu")
    assert not first.has_state(FQDN, workdir=job.workdir)
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT to_regnamespace(%s) IS NOT NULL", (f"tofu_{DEP}",)).fetchone()
    assert row is not None and row[0] is False  # the emptied schema is dropped
