"""Encryption at rest for secrets the database holds (kubeconfigs): AES-256-GCM with a key ring.

`CATALYST_ENCRYPTION_KEY` lists keys as `<id>:<base64 of 32 bytes>`, comma separated, newest
first: new writes use the first key, reads use the key named by the stored `key_id`, so a
rotation prepends a new key and keeps the old ones until every row was rewritten (or the
deployments that used them are gone). The deployment id is the associated data: a ciphertext
moved to another row does not decrypt."""

from __future__ import annotations

import base64
import binascii
import os
import re

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = ["KeyRing", "KeyRingError"]

_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class KeyRingError(ValueError):
    """The key list is malformed, or a ciphertext names an unknown key or does not decrypt."""


class KeyRing:
    """Named AES-GCM keys; the first one encrypts."""

    def __init__(self, keys: list[tuple[str, bytes]]) -> None:
        if not keys:
            raise KeyRingError("no encryption key")
        self._keys = {key_id: AESGCM(key) for key_id, key in keys}
        self.current = keys[0][0]

    @classmethod
    def parse(cls, text: str) -> KeyRing:
        """From `id:base64key[,id:base64key…]` (newest first); the message never holds a key."""
        keys: list[tuple[str, bytes]] = []
        for number, item in enumerate((p.strip() for p in text.split(",") if p.strip()), 1):
            key_id, sep, encoded = item.partition(":")
            if not sep or not _ID.match(key_id):
                raise KeyRingError(f"key #{number}: expected <id>:<base64 key>")
            try:
                key = base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError):
                raise KeyRingError(f"key {key_id!r}: not base64") from None
            if len(key) != 32:
                raise KeyRingError(f"key {key_id!r}: must be 32 bytes (AES-256), got {len(key)}")
            if any(k == key_id for k, _ in keys):
                raise KeyRingError(f"key {key_id!r} listed twice")
            keys.append((key_id, key))
        return cls(keys)

    @staticmethod
    def generate(key_id: str = "k1") -> str:
        """A new key entry for the environment variable (`id:base64`)."""
        return f"{key_id}:{base64.b64encode(os.urandom(32)).decode()}"

    def encrypt(self, plaintext: bytes, *, context: str) -> tuple[str, bytes, bytes]:
        """(key_id, nonce, ciphertext) with the newest key."""
        nonce = os.urandom(12)
        return (
            self.current,
            nonce,
            self._keys[self.current].encrypt(nonce, plaintext, context.encode()),
        )

    def decrypt(self, key_id: str, nonce: bytes, ciphertext: bytes, *, context: str) -> bytes:
        aead = self._keys.get(key_id)
        if aead is None:
            raise KeyRingError(f"ciphertext was written with key {key_id!r}, which is not listed")
        try:
            return aead.decrypt(nonce, ciphertext, context.encode())
        except InvalidTag:
            raise KeyRingError(f"ciphertext does not decrypt with key {key_id!r}") from None
