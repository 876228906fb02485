"""Format checks for create-request fields (DESIGN item 6; issue 10): each answers the first
problem as a sentence for the 400 `{"error": "<message>"}` body, or None when the value is fine.

- `normalise_fqdn` / `fqdn_problem`: a DNS hostname (RFC 1123) with at least two labels.
- `label_problem`: one RFC 1123 label (pool subdomains).
- `ssh_key_problem`: an OpenSSH public key of a type cloud-init and Hetzner accept.
- `email_problem`: the OpenTofu module's own e-mail rule, on one line.

Messages never echo the value (it may hold control characters or be huge).
"""

from __future__ import annotations

import re

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_ssh_public_key

__all__ = [
    "MIN_RSA_BITS",
    "SSH_KEY_TYPES",
    "email_problem",
    "fqdn_problem",
    "label_problem",
    "normalise_fqdn",
    "ssh_key_problem",
]

MAX_FQDN_LENGTH = 253
MAX_LABEL_LENGTH = 63
MIN_RSA_BITS = 2048
SSH_KEY_TYPES = (
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
)
_EC_CURVES = {"secp256r1", "secp384r1", "secp521r1"}

_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")
_HOST_CHARS = re.compile(r"[a-z0-9.-]*")
_EMAIL = re.compile(r"[^@]+@[^@]+\.[^@]+")  # infra/hetzner/variables.tf `org_email`

FQDN_SHAPE = (
    "at least two dot-separated labels of a-z, 0-9 and hyphens, each 1-63 characters, "
    "not starting or ending with a hyphen"
)


def normalise_fqdn(fqdn: str) -> str:
    """Trimmed, lower-cased, one trailing dot dropped (`K8s.Acme.Example.` → `k8s.acme.example`).

    Lower-casing is ASCII only: a non-ASCII name is left for `fqdn_problem` to refuse.
    """
    name = fqdn.strip()
    if name.isascii():
        name = name.lower()
    return name[:-1] if name.endswith(".") else name


def fqdn_problem(fqdn: str) -> str | None:
    """Why a *normalised* FQDN is not a Sovereign hostname, or None."""
    if not _HOST_CHARS.fullmatch(fqdn):
        return f"sovereign FQDN must be a DNS hostname: {FQDN_SHAPE} (no other characters)"
    if len(fqdn) > MAX_FQDN_LENGTH:
        return f"sovereign FQDN must be a DNS hostname of at most {MAX_FQDN_LENGTH} characters"
    labels = fqdn.split(".")
    if len(labels) < 2:
        return f"sovereign FQDN must be a DNS hostname: {FQDN_SHAPE} (e.g. k8s.acme.example)"
    for label in labels:
        if label_problem(label) is not None:
            return f"sovereign FQDN must be a DNS hostname: {FQDN_SHAPE}"
    return None


def label_problem(label: str) -> str | None:
    """Why `label` is not one RFC 1123 DNS label (lower-case expected), or None."""
    if len(label) > MAX_LABEL_LENGTH or not _LABEL.fullmatch(label):
        return (
            "must be one DNS label: 1-63 characters of a-z, 0-9 and hyphens, not starting or "
            "ending with a hyphen"
        )
    return None


def ssh_key_problem(key: str) -> str | None:
    """Why a trimmed `sshPublicKey` is not usable as the Sovereign's break-glass key, or None."""
    if any(not ch.isprintable() for ch in key):
        return "SSH public key must be a single line without control characters"
    if key.split(" ", 1)[0] not in SSH_KEY_TYPES:
        return (
            "SSH public key must be an OpenSSH public key of type "
            + ", ".join(SSH_KEY_TYPES)
            + " (e.g. the publicKey of POST /api/v1/sshkey/generate)"
        )
    try:
        public = load_ssh_public_key(key.encode())
    except (ValueError, UnsupportedAlgorithm):
        return "SSH public key could not be parsed as an OpenSSH public key (type, base64 key)"
    if isinstance(public, rsa.RSAPublicKey):
        if public.key_size < MIN_RSA_BITS:
            return (
                f"SSH public key: RSA keys must have at least {MIN_RSA_BITS} bits "
                f"(this one has {public.key_size})"
            )
        return None
    if isinstance(public, ec.EllipticCurvePublicKey):
        return None if public.curve.name in _EC_CURVES else "SSH public key: unsupported curve"
    if isinstance(public, ed25519.Ed25519PublicKey):
        return None
    return "SSH public key: unsupported key type"  # pragma: no cover - filtered by type above


def email_problem(email: str) -> str | None:
    """Why a trimmed `orgEmail` does not look like an e-mail address, or None."""
    if any(ch.isspace() or not ch.isprintable() for ch in email) or not _EMAIL.fullmatch(email):
        return "organisation email must be an e-mail address such as ops@example.com"
    return None
