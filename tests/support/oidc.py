"""A local OIDC issuer on loopback: discovery and JWKS over real HTTP, real RSA signatures,
key rotation on demand. The JWKS publishes only the current key (a rotated-out key's tokens
stop verifying once the service fetches the new set)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm


class _Key:
    def __init__(self) -> None:
        self.kid = uuid.uuid4().hex[:12]
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwk(self) -> dict[str, Any]:
        jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(self.private.public_key()))
        jwk.update(kid=self.kid, use="sig", alg="RS256")
        return jwk


class OidcIssuer:
    """`url` is the issuer; `sign(**claims)` makes an RS256 token with sane defaults."""

    def __init__(self, audience: str = "catalyst-api") -> None:
        self.audience = audience
        self.key = _Key()
        self.jwks_fetches = 0
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body: dict[str, Any]
                if self.path == "/.well-known/openid-configuration":
                    body = {"issuer": issuer.url, "jwks_uri": f"{issuer.url}/jwks"}
                elif self.path == "/jwks":
                    issuer.jwks_fetches += 1
                    body = {"keys": [issuer.key.jwk()]}
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def rotate(self) -> _Key:
        """Publish a new key instead of the current one; returns the old key."""
        old, self.key = self.key, _Key()
        return old

    def sign(
        self, key: _Key | None = None, headers: dict[str, Any] | None = None, **claims: Any
    ) -> str:
        now = int(time.time())
        body: dict[str, Any] = {
            "iss": self.url,
            "aud": self.audience,
            "sub": "user-1",
            "iat": now,
            "exp": now + 300,
        }
        body.update(claims)
        signer = key or self.key
        return jwt.encode(
            {k: v for k, v in body.items() if v is not None},
            signer.private,
            algorithm="RS256",
            headers={"kid": signer.kid, **(headers or {})},
        )


@contextmanager
def oidc_issuer(audience: str = "catalyst-api") -> Iterator[OidcIssuer]:
    issuer = OidcIssuer(audience)
    issuer._thread.start()
    try:
        yield issuer
    finally:
        issuer._server.shutdown()
        issuer._server.server_close()
