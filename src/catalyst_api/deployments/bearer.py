"""The kubeconfig postback bearer (spec §5): mint, hash, parse the header, compare."""

from __future__ import annotations

import hashlib
import hmac
import secrets

__all__ = ["bearer_matches", "hash_bearer", "mint_bearer", "parse_bearer_header"]


def mint_bearer() -> tuple[str, str]:
    """32 random bytes as 64 lowercase hex, and the lowercase hex SHA-256 of that text."""
    plaintext = secrets.token_hex(32)
    return plaintext, hash_bearer(plaintext)


def hash_bearer(token: str) -> str:
    """Hex SHA-256 of the token's bytes. Header values arrive latin-1 decoded, so any character
    (`Bearer é`) hashes (as UTF-8) instead of raising: a minted token is ASCII hex, so a
    non-ASCII one simply does not match."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def parse_bearer_header(header: str | None) -> str:
    """The token from `Authorization: Bearer <token>` (scheme case-insensitive), or ""."""
    value = (header or "").strip()
    if len(value) <= 7 or value[:7].lower() != "bearer ":
        return ""
    return value[7:].strip()


def bearer_matches(token: str, expected_hash: str) -> bool:
    """Constant-time comparison of the token's hash with the recorded hash."""
    return hmac.compare_digest(hash_bearer(token), expected_hash.lower())
