"""The log scrubber masks a run's job secrets while the run lasts, settings secrets always."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import structlog

from catalyst_api.events.models import Event
from catalyst_api.logs import SecretScrubber, scrubber
from catalyst_api.provisioner import TofuProvisioner
from fakes.hcloud.harness import CANARY_BEARER, CANARY_HCLOUD, provision_job

MakeProvisioner = Callable[..., TofuProvisioner]

log = structlog.get_logger(__name__)


def test_a_scoped_value_is_masked_only_while_its_block_runs() -> None:
    scrub = SecretScrubber()
    with scrub.registered("token-one", "tiny"):
        assert scrub.scrub_text("a token-one b") == "a <redacted> b"
        assert scrub.scrub_text("tiny") == "tiny"  # too short to mask without false hits
    assert scrub.scrub_text("a token-one b") == "a token-one b"


def test_a_value_shared_by_two_blocks_stays_masked_until_the_last_ends() -> None:
    scrub = SecretScrubber()
    with scrub.registered("shared-token"):
        with scrub.registered("shared-token", "other-token"):
            pass
        assert scrub.scrub_text("shared-token other-token") == "<redacted> other-token"
    assert scrub.scrub_text("shared-token") == "shared-token"


def test_a_permanent_value_outlives_a_block_that_also_held_it() -> None:
    scrub = SecretScrubber()
    scrub.register("settings-secret")
    with scrub.registered("settings-secret"):
        pass
    assert scrub.scrub_text("settings-secret") == "<redacted>"


async def test_job_secrets_logged_during_a_run_are_redacted(
    make_provisioner: MakeProvisioner,
    write_module: Callable[..., Path],
    log_text: Callable[[], str],
) -> None:
    prov = make_provisioner(write_module(""))

    def emit(event: Event) -> None:
        # A careless log line carrying the run's secrets while the run is in progress.
        log.info("event", message=event.message, leak=f"{CANARY_HCLOUD} {CANARY_BEARER}")

    await prov.destroy(provision_job(), emit)  # no state: one event, no OpenTofu process

    text = log_text()
    assert "<redacted> <redacted>" in text
    assert CANARY_HCLOUD not in text and CANARY_BEARER not in text
    assert scrubber.scrub_text(CANARY_HCLOUD) == CANARY_HCLOUD  # released with the run
