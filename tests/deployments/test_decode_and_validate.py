"""Create-body decoding (Go semantics) and validation (spec §3.6, §11 "validation")."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from pydantic import SecretStr

from catalyst_api.deployments.decode import decode_create_request
from catalyst_api.deployments.validation import GHCR_REQUIRED_MESSAGE, validate_request
from catalyst_api.errors import InvalidBody
from support.keys import SSH_PUBLIC_KEY


def _valid(**extra: Any) -> dict[str, Any]:
    body = {
        "orgName": "Acme",
        "orgEmail": "a@acme.example",
        "sovereignFQDN": "k8s.acme.example",
        "sovereignDomainMode": "byo",
        "hetznerToken": "t" * 64,
        "hetznerProjectID": "1",
        "region": "fsn1",
        "controlPlaneSize": "cpx31",
        "sshPublicKey": SSH_PUBLIC_KEY,
    }
    body.update(extra)
    return body


def _decode(body: Any) -> Any:
    return decode_create_request(orjson.dumps(body))


def test_empty_body_is_eof() -> None:
    with pytest.raises(InvalidBody) as err:
        decode_create_request(b"")
    assert err.value.text() == "invalid request body: EOF\n"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("workerCount", "2"),
        ("workerCount", 1.5),
        ("haEnabled", "yes"),
        ("orgName", 5),
        ("regions", {"provider": "hetzner"}),
        ("regions", [{"workerCount": "3"}]),
    ],
    ids=["string-int", "float-int", "yes-bool", "number-string", "object-array", "nested"],
)
def test_wrong_json_types_are_decode_errors(field: str, value: Any) -> None:
    with pytest.raises(InvalidBody) as err:
        _decode(_valid(**{field: value}))
    assert err.value.text().startswith("invalid request body: json: cannot unmarshal")


def test_non_object_body_is_a_decode_error() -> None:
    with pytest.raises(InvalidBody):
        _decode([1, 2])


def test_unknown_fields_are_ignored_and_keys_match_case_insensitively() -> None:
    req = _decode({"ORGNAME": "Acme", "sovereignfqdn": "x.example", "whatever": {"a": 1}})
    assert req.org_name == "Acme"
    assert req.sovereign_fqdn == "x.example"


def test_server_stamped_fields_cannot_come_from_the_wire() -> None:
    req = _decode(
        _valid(ghcrPullToken="evil", dynadotKey="evil", id="x", kubeconfigBearerToken="y")
    )
    assert req.ghcr_pull_token.get_secret_value() == ""
    assert req.dynadot_key.get_secret_value() == ""


def test_null_leaves_the_zero_value() -> None:
    req = _decode(_valid(workerCount=None, regions=None))
    assert req.worker_count == 0
    assert req.regions == []


def test_empty_regions_with_singular_region_validates() -> None:
    assert validate_request(_decode(_valid(regions=[]))) is None


def test_missing_region_is_rejected() -> None:
    body = _valid()
    del body["region"]
    assert validate_request(_decode(body)) == (
        "region is required (runtime parameter, never hardcoded)"
    )


def test_regions_mirror_index_zero_into_the_singular_fields() -> None:
    body = _valid(region="")
    body["regions"] = [
        {
            "provider": "hetzner",
            "cloudRegion": "hel1",
            "controlPlaneSize": "cpx41",
            "workerSize": "cpx51",
            "workerCount": 3,
        }
    ]
    req = _decode(body)
    assert validate_request(req) is None
    assert (req.region, req.control_plane_size, req.worker_size, req.worker_count) == (
        "hel1",
        "cpx41",
        "cpx51",
        3,
    )


@pytest.mark.parametrize(
    ("region", "message"),
    [
        ({"cloudRegion": "fsn1", "controlPlaneSize": "c"}, "region[0] provider is required"),
        ({"provider": "hetzner", "controlPlaneSize": "c"}, "region[0] cloudRegion is required"),
        ({"provider": "hetzner", "cloudRegion": "fsn1"}, "region[0] controlPlaneSize is required"),
        (
            {"provider": "h", "cloudRegion": "f", "controlPlaneSize": "c", "workerCount": -1},
            "region[0] workerCount must be non-negative",
        ),
        (
            {"provider": "h", "cloudRegion": "f", "controlPlaneSize": "c", "workerCount": 2},
            "region[0] workerSize is required when workerCount > 0",
        ),
    ],
    ids=["provider", "cloudRegion", "controlPlaneSize", "negative-count", "workerSize"],
)
def test_per_region_errors_name_the_field(region: dict[str, Any], message: str) -> None:
    assert validate_request(_decode(_valid(regions=[region]))) == message


def test_worker_count_zero_with_empty_worker_size_is_valid() -> None:
    region = {"provider": "hetzner", "cloudRegion": "fsn1", "controlPlaneSize": "c"}
    assert validate_request(_decode(_valid(regions=[region]))) is None


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("hetznerToken", "hetzner token is required"),
        ("hetznerProjectID", "hetzner project ID is required"),
        ("sovereignFQDN", "sovereign FQDN is required"),
        ("orgName", "organisation name is required"),
        ("orgEmail", "organisation email is required (becomes initial sovereign-admin)"),
        (
            "sshPublicKey",
            "SSH public key is required (sovereign-admin break-glass + cluster bootstrap)",
        ),
    ],
)
def test_required_fields_in_order_with_verbatim_messages(missing: str, message: str) -> None:
    assert validate_request(_decode(_valid(**{missing: "   "}))) == message


def test_pool_mode_without_ghcr_token_is_rejected_pointing_at_the_runbook() -> None:
    message = validate_request(_decode(_valid(sovereignDomainMode="pool")))
    assert message == GHCR_REQUIRED_MESSAGE
    assert "CATALYST_GHCR_PULL_TOKEN" in message and "SECRET-ROTATION" in message


def test_pool_mode_with_token_passes_and_byo_needs_none() -> None:
    req = _decode(_valid(sovereignDomainMode="pool"))
    req.ghcr_pull_token = SecretStr("ghcr")
    assert validate_request(req) is None
    assert validate_request(_decode(_valid(sovereignDomainMode="byo"))) is None
