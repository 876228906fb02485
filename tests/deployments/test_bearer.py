"""The kubeconfig postback bearer (spec §5, §11 "Kubeconfig")."""

from __future__ import annotations

import hashlib
import re

import pytest

from catalyst_api.deployments.bearer import (
    bearer_matches,
    hash_bearer,
    mint_bearer,
    parse_bearer_header,
)


def test_mint_gives_64_hex_plaintext_and_its_sha256() -> None:
    plaintext, digest = mint_bearer()
    assert re.fullmatch(r"[0-9a-f]{64}", plaintext)
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert digest == hashlib.sha256(plaintext.encode()).hexdigest() == hash_bearer(plaintext)
    assert mint_bearer()[0] != plaintext


def test_compare_accepts_only_the_minted_token() -> None:
    plaintext, digest = mint_bearer()
    assert bearer_matches(plaintext, digest)
    assert not bearer_matches(plaintext + "x", digest)
    assert not bearer_matches("", digest)


@pytest.mark.parametrize(
    ("header", "token"),
    [
        (None, ""),
        ("", ""),
        ("Bearer", ""),
        ("Bearer ", ""),
        ("Basic dXNlcjpwYXNz", ""),
        ("abcdef", ""),
        ("bearer abc123", "abc123"),
        ("BEARER abc123", "abc123"),
        ("BeArEr abc123", "abc123"),
        ("Bearer abc123 ", "abc123"),
        ("Bearer my-token", "my-token"),
    ],
)
def test_bearer_extraction(header: str | None, token: str) -> None:
    assert parse_bearer_header(header) == token
