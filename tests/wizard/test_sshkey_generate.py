"""`POST /api/v1/sshkey/generate` (spec §3.5): a fresh Ed25519 keypair in OpenSSH formats."""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from support.server import LiveServer


def generate(server: LiveServer, **kwargs: Any) -> httpx.Response:
    return httpx.post(f"{server.url}/api/v1/sshkey/generate", **kwargs)


def test_keypair_has_the_openssh_shapes(pdm_server: LiveServer) -> None:
    resp = generate(pdm_server, json={"fqdn": "acme.omani.works"})
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/json"
    body = resp.json()
    assert list(body) == ["publicKey", "privateKey", "fingerprint"]

    fields = body["publicKey"].split(" ")
    assert len(fields) == 3
    assert fields[0] == "ssh-ed25519" and fields[1].startswith("AAAA")
    assert fields[2] == "catalyst@acme.omani.works"
    blob = base64.b64decode(fields[1], validate=True)
    assert blob[:4] == (11).to_bytes(4, "big") and blob[4:15] == b"ssh-ed25519"
    assert blob[15:19] == (32).to_bytes(4, "big") and len(blob) == 51

    pem = body["privateKey"]
    assert pem.startswith("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    assert pem.endswith("-----END OPENSSH PRIVATE KEY-----\n")
    inner = "".join(pem.splitlines()[1:-1])
    assert base64.b64decode(inner).startswith(b"openssh-key-v1\x00")

    fingerprint = body["fingerprint"]
    assert fingerprint.startswith("SHA256:") and len(fingerprint) == 7 + 43
    assert base64.b64decode(fingerprint[7:] + "=") == hashlib.sha256(blob).digest()


def test_private_key_loads_and_matches_the_public_key(pdm_server: LiveServer) -> None:
    body = generate(pdm_server).json()
    key = serialization.load_ssh_private_key(body["privateKey"].encode(), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    assert body["publicKey"].startswith(public.decode() + " ")


@pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="openssh-client not installed")
def test_ssh_keygen_prints_the_same_fingerprint(pdm_server: LiveServer, tmp_path: Path) -> None:
    body = generate(pdm_server, json={"fqdn": "acme.io"}).json()
    public, private = tmp_path / "id.pub", tmp_path / "id"
    public.write_text(body["publicKey"] + "\n")
    private.write_text(body["privateKey"])
    private.chmod(0o600)
    for path in (public, private):
        out = subprocess.run(
            ["ssh-keygen", "-l", "-E", "sha256", "-f", str(path)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
        assert out[0] == "256" and out[1] == body["fingerprint"] and out[-1] == "(ED25519)"


def test_every_call_makes_a_new_key(pdm_server: LiveServer) -> None:
    first, second = generate(pdm_server).json(), generate(pdm_server).json()
    assert first["privateKey"] != second["privateKey"]
    assert first["fingerprint"] != second["fingerprint"]


@pytest.mark.parametrize(
    ("kwargs", "comment"),
    [
        ({}, "catalyst"),
        ({"json": {"fqdn": ""}}, "catalyst"),
        ({"json": {"fqdn": "   "}}, "catalyst"),
        ({"json": {"fqdn": "  acme.io \t"}}, "catalyst@acme.io"),
        ({"json": {"FQDN": "acme.io"}}, "catalyst@acme.io"),
        ({"json": {"fqdn": "a b"}}, "catalyst"),
        ({"json": {"fqdn": "a\nb"}}, "catalyst"),
        ({"content": b"garbage"}, "catalyst"),
        ({"content": b"[1,2]"}, "catalyst"),
        ({"content": b"\xff\xfe"}, "catalyst"),
        ({"content": b'{"fqdn": "' + b"a" * (70 << 10) + b'"}'}, "catalyst"),
    ],
    ids=[
        "no-body",
        "empty",
        "blank",
        "trimmed",
        "key-case",
        "space",
        "newline",
        "garbage",
        "array",
        "bad-utf8",
        "huge",
    ],
)
def test_comment_comes_from_a_clean_fqdn_else_catalyst(
    pdm_server: LiveServer, kwargs: dict[str, Any], comment: str
) -> None:
    resp = generate(pdm_server, **kwargs)
    assert resp.status_code == 200
    public = resp.json()["publicKey"]
    assert public.split(" ")[2] == comment and len(public.split(" ")) == 3


@pytest.mark.parametrize(
    ("payload", "kind"),
    [
        ({"fqdn": {}}, "object"),
        ({"fqdn": 42}, "number"),
        ({"fqdn": ["acme.io"]}, "array"),
        ({"FQDN": True}, "bool"),
    ],
    ids=["object", "number", "array", "bool-key-case"],
)
def test_a_mistyped_fqdn_is_400_invalid_request_body(
    pdm_server: LiveServer, payload: dict[str, Any], kind: str
) -> None:
    # Issue 10: garbage is still "no fqdn" (spec §3.5), but a JSON object with a wrong type
    # answers like every other mistyped body.
    resp = generate(pdm_server, json=payload)
    assert resp.status_code == 400
    assert resp.headers["content-type"].startswith("text/plain")
    assert resp.text == (
        f"invalid request body: json: cannot unmarshal {kind} into Go struct field .fqdn of "
        "type string\n"
    )


def test_null_fqdn_counts_as_absent(pdm_server: LiveServer) -> None:
    resp = generate(pdm_server, json={"fqdn": None})
    assert resp.status_code == 200
    assert resp.json()["publicKey"].split(" ")[2] == "catalyst"


def test_only_the_fingerprint_is_logged(
    pdm_server: LiveServer, log_text: Callable[[], str]
) -> None:
    body = generate(pdm_server, json={"fqdn": "secret-host.example"}).json()
    logs = log_text()
    assert body["fingerprint"] in logs
    assert body["publicKey"].split(" ")[1] not in logs
    private_lines = body["privateKey"].splitlines()[1:-1]
    assert all(line not in logs for line in private_lines)
