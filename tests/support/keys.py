"""Valid key material for request bodies (create validates `sshPublicKey`; issue 10)."""

from __future__ import annotations

__all__ = ["SSH_PUBLIC_KEY"]

# A real Ed25519 public key (its private half was discarded); generated once with cryptography.
SSH_PUBLIC_KEY = (
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINQ2isn9K2RxPIA4Uah/wKbj6HoeJ6s0nKEqKznu4icu catalyst@acme"
)
