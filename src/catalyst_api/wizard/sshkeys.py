"""`POST /api/v1/sshkey/generate` (spec §3.5): a fresh Ed25519 keypair in OpenSSH formats.

The public key is `ssh-ed25519 <base64 wire blob> <comment>`, the private key an unencrypted
`OPENSSH PRIVATE KEY` PEM (cryptography's OpenSSH serializer, which leaves the private-section
comment empty — allowed by the spec), the fingerprint `SHA256:<unpadded base64>` as
`ssh-keygen -l` prints it. Nothing is stored; only the fingerprint is logged.

Decision: the comment is `catalyst@<fqdn>` only when the trimmed fqdn has no whitespace or
control characters (otherwise `catalyst`), so the public key always has exactly three fields
and stays a single authorized_keys line.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

__all__ = ["SshKeyPair", "comment_for", "fingerprint_of", "generate_keypair"]


@dataclass(frozen=True, slots=True)
class SshKeyPair:
    public_key: str
    private_key: str
    fingerprint: str

    def to_wire(self) -> dict[str, str]:
        return {
            "publicKey": self.public_key,
            "privateKey": self.private_key,
            "fingerprint": self.fingerprint,
        }


def comment_for(fqdn: str) -> str:
    """`catalyst` for a blank fqdn, else `catalyst@<trimmed fqdn>`."""
    name = fqdn.strip()
    if not name or any(ch.isspace() or not ch.isprintable() for ch in name):
        return "catalyst"
    return f"catalyst@{name}"


def fingerprint_of(wire_blob: bytes) -> str:
    """`SHA256:` + unpadded standard base64 of SHA-256 over the public key wire blob."""
    digest = hashlib.sha256(wire_blob).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


def generate_keypair(comment: str) -> SshKeyPair:
    """A new Ed25519 keypair; every call is independent."""
    key = Ed25519PrivateKey.generate()
    openssh_public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    key_type, blob_b64 = openssh_public.decode("ascii").split(" ", 2)[:2]
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    return SshKeyPair(
        public_key=f"{key_type} {blob_b64} {comment}",
        private_key=private_pem.decode("ascii"),
        fingerprint=fingerprint_of(base64.b64decode(blob_b64)),
    )
