"""Create-request format checks after the required ones (issue 10, DESIGN item 6): the FQDN is
a DNS hostname (stored normalised), the SSH key parses as a cloud-init key type, the e-mail
looks like one. First failure wins; the original's required-field messages come first."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from catalyst_api.deployments.decode import decode_create_request
from catalyst_api.deployments.models import DeploymentRequest
from catalyst_api.deployments.validation import validate_request
from support.keys import SSH_PUBLIC_KEY


def _request(**extra: Any) -> DeploymentRequest:
    body: dict[str, Any] = {
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
    return decode_create_request(orjson.dumps(body))


def _openssh(public: Any, comment: str = "ops@acme") -> str:
    raw = public.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return f"{raw.decode()} {comment}"


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("k8s.acme.example", "k8s.acme.example"),
        ("  K8S.Acme.Example.  ", "k8s.acme.example"),
        ("1acme.omani.works", "1acme.omani.works"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("a-b.c-d.e", "a-b.c-d.e"),
        ("acme.example\n", "acme.example"),
        (".".join(["a" * 63] * 3) + ".bb", ".".join(["a" * 63] * 3) + ".bb"),
    ],
    ids=[
        "plain",
        "trim-case-dot",
        "digit-first",
        "punycode",
        "hyphens",
        "trailing-newline",
        "long-labels",
    ],
)
def test_valid_fqdns_are_stored_normalised(given: str, stored: str) -> None:
    req = _request(sovereignFQDN=given)
    assert validate_request(req) is None
    assert req.sovereign_fqdn == stored


@pytest.mark.parametrize(
    "fqdn",
    [
        "../../../../tmp/x",
        "/tmp/x",
        "acme.example\r\nX-Injected: 1",
        'acme".example',
        "acme'.example",
        "a" * 300 + ".example",
        ("a" * 60 + ".") * 5 + "example",
        "localhost",
        "acme..example",
        "acme.example..",
        ".acme.example",
        "-acme.example",
        "acme-.example",
        "acme_x.example",
        "acme example.com",
        "\u212a8s.acme.example",  # KELVIN SIGN lower-cases to "k"
        "bücher.example",
        "acme.example:8080",
    ],
    ids=[
        "traversal",
        "absolute-path",
        "crlf",
        "double-quote",
        "single-quote",
        "300-char-label",
        "over-253",
        "one-label",
        "empty-label",
        "two-trailing-dots",
        "leading-dot",
        "leading-hyphen",
        "trailing-hyphen",
        "underscore",
        "space",
        "kelvin-sign",
        "non-ascii",
        "port",
    ],
)
def test_fqdn_that_is_not_a_dns_hostname_is_refused(fqdn: str) -> None:
    req = _request(sovereignFQDN=fqdn)
    message = validate_request(req)
    assert message is not None and message.startswith("sovereign FQDN must be a DNS hostname")
    assert "\n" not in message and "tmp" not in message


def test_format_checks_come_after_every_required_check() -> None:
    # A bad FQDN does not hide a missing field that the original reports.
    req = _request(sovereignFQDN="/tmp/x", sshPublicKey="", orgEmail="nope")
    assert validate_request(req) == (
        "SSH public key is required (sovereign-admin break-glass + cluster bootstrap)"
    )
    # Then FQDN, e-mail, SSH key, in that order.
    req = _request(sovereignFQDN="/tmp/x", orgEmail="nope", sshPublicKey="ssh-rsa not-a-key")
    assert validate_request(req).startswith("sovereign FQDN")  # type: ignore[union-attr]
    req = _request(orgEmail="nope", sshPublicKey="ssh-rsa not-a-key")
    assert validate_request(req).startswith("organisation email")  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "key",
    [
        "ssh-rsa not-a-key",
        "ssh-ed25519 AAAA",
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB1c2d3e4f5a6b7 catalyst@acme",
        "ssh-dss AAAAB3NzaC1kc3MAAACBAP",
        "not a key at all",
        'from="10.0.0.1" ' + SSH_PUBLIC_KEY,
        SSH_PUBLIC_KEY.replace("ssh-ed25519", "ssh-rsa"),
        SSH_PUBLIC_KEY + "\nssh-ed25519 AAAA second",
        SSH_PUBLIC_KEY.replace(" catalyst", "\tcatalyst"),
    ],
    ids=[
        "rsa-garbage",
        "short-blob",
        "truncated-blob",
        "dss",
        "prose",
        "options-prefix",
        "type-mismatch",
        "two-lines",
        "tab",
    ],
)
def test_unusable_ssh_keys_are_refused(key: str) -> None:
    message = validate_request(_request(sshPublicKey=key))
    assert message is not None and message.startswith("SSH public key")


def test_rsa_keys_need_2048_bits() -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()
    message = validate_request(_request(sshPublicKey=_openssh(small)))
    assert message == "SSH public key: RSA keys must have at least 2048 bits (this one has 1024)"
    big = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    assert validate_request(_request(sshPublicKey=_openssh(big))) is None


@pytest.mark.parametrize("curve", [ec.SECP256R1(), ec.SECP384R1(), ec.SECP521R1()])
def test_ecdsa_keys_on_the_nist_curves_are_accepted(curve: ec.EllipticCurve) -> None:
    public = ec.generate_private_key(curve).public_key()
    assert validate_request(_request(sshPublicKey=_openssh(public))) is None


def test_ed25519_without_comment_and_with_spaces_in_the_comment_is_accepted() -> None:
    bare = " ".join(SSH_PUBLIC_KEY.split(" ")[:2])
    assert validate_request(_request(sshPublicKey=f"  {bare}  ")) is None
    assert validate_request(_request(sshPublicKey=f"{bare} Ops Team laptop")) is None


@pytest.mark.parametrize(
    "email",
    [
        "not-an-email",
        "ops@acme",
        "@acme.example",
        "ops@@acme.example",
        "o ps@acme.example",
        "ops@acme.example\r\nBcc: x@y.z",
    ],
    ids=["no-at", "no-dot", "no-local", "two-ats", "space", "crlf"],
)
def test_email_must_look_like_one(email: str) -> None:
    message = validate_request(_request(orgEmail=email))
    assert message == "organisation email must be an e-mail address such as ops@example.com"


def test_plain_and_trimmed_emails_pass() -> None:
    assert validate_request(_request(orgEmail="ops+sov@acme.example")) is None
    assert validate_request(_request(orgEmail="  ops@acme.example \n")) is None
