"""A local OIDC issuer on loopback: discovery and JWKS over real HTTP, real RSA signatures,
key rotation on demand. The JWKS publishes only the current key (a rotated-out key's tokens
stop verifying once the service fetches the new set).

It also runs the authorization code flow with PKCE for a browser (the console's sign-in):
`/authorize` signs `login_as` in at once and redirects back with a code; `/token` exchanges
it only for the verifier whose S256 hash was the challenge (`exchanges` records each try).
Every answer allows any origin (CORS), as a provider configured for the console would."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

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
        self.login_as: dict[str, Any] = {
            "preferred_username": "ana",
            "groups": ["catalyst-operator"],
        }
        self.codes: dict[str, dict[str, str]] = {}
        self.exchanges: list[dict[str, Any]] = []
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def _json(self, body: dict[str, Any], status: int = 200) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Access-Control-Allow-Origin", "*")
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                body: dict[str, Any]
                path = urlsplit(self.path).path
                if path == "/.well-known/openid-configuration":
                    body = {
                        "issuer": issuer.url,
                        "jwks_uri": f"{issuer.url}/jwks",
                        "authorization_endpoint": f"{issuer.url}/authorize",
                        "token_endpoint": f"{issuer.url}/token",
                        "code_challenge_methods_supported": ["S256"],
                    }
                elif path == "/jwks":
                    issuer.jwks_fetches += 1
                    body = {"keys": [issuer.key.jwk()]}
                elif path == "/authorize":
                    self._authorize()
                    return
                else:
                    self.send_error(404)
                    return
                self._json(body)

            def _authorize(self) -> None:
                query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
                code = secrets.token_urlsafe(16)
                issuer.codes[code] = query
                back = {"code": code, "state": query.get("state", "")}
                self.send_response(302)
                self.send_header("Location", f"{query['redirect_uri']}?{urlencode(back)}")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_POST(self) -> None:
                if urlsplit(self.path).path != "/token":
                    self.send_error(404)
                    return
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                form = {k: v[0] for k, v in parse_qs(raw).items()}
                asked = issuer.codes.pop(form.get("code", ""), None)
                verifier = form.get("code_verifier", "")
                digest = hashlib.sha256(verifier.encode()).digest()
                challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
                ok = (
                    asked is not None
                    and asked.get("code_challenge_method") == "S256"
                    and asked.get("code_challenge") == challenge
                    and asked.get("redirect_uri") == form.get("redirect_uri")
                    and asked.get("client_id") == form.get("client_id")
                )
                issuer.exchanges.append({"ok": ok, "asked": asked, "form": form})
                if not ok:
                    self._json({"error": "invalid_grant"}, 400)
                    return
                token = issuer.sign(**issuer.login_as)
                self._json({"access_token": token, "token_type": "Bearer", "expires_in": 300})

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
