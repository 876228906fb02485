"""Wizard helper routes: credential check, subdomain check, SSH keys, BYO registrar proxy.

Thin: read a bounded body, call `WizardService`, shape the response. The registrar routes use
a `path` parameter so that names smuggling path characters (`..%2Fx`, `a/b`) still reach the
handler and get the JSON 404 `unsupported-registrar` rather than the router's text 404; the
name is checked before the body is read.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from ..errors import ServiceUnavailable
from ..wizard import SMALL_BODY_MAX_BYTES, InvalidCredentialsBody, Relay, Reply, WizardService
from ..wizard.registrar import MAX_BODY_BYTES as REGISTRAR_MAX_BYTES
from ..wizard.service import invalid_subdomain_body
from .bodies import read_capped
from .deps import services
from .responses import json_response, secret_headers

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["wizard"])


def _wizard(request: Request) -> WizardService:
    wizard = services(request).wizard
    if wizard is None:  # pragma: no cover - always wired by build_services
        raise ServiceUnavailable("wizard-unavailable", "wizard helpers are not configured")
    return wizard


def _reply(reply: Reply) -> Response:
    return json_response(reply.body, reply.status)


def _relay(relay: Relay) -> Response:
    return Response(relay.body, status_code=relay.status, media_type="application/json")


@router.post("/credentials/validate")
async def validate_credentials(request: Request) -> Response:
    """Hetzner token check (spec §3.3)."""
    wizard = _wizard(request)
    body = await read_capped(request, SMALL_BODY_MAX_BYTES, InvalidCredentialsBody)
    return _reply(await wizard.validate_credentials(body))


@router.post("/subdomains/check")
async def check_subdomain(request: Request) -> Response:
    """Subdomain availability (spec §3.4)."""
    wizard = _wizard(request)
    body = await read_capped(request, SMALL_BODY_MAX_BYTES, invalid_subdomain_body)
    return _reply(await wizard.check_subdomain(body))


@router.post("/sshkey/generate")
async def generate_ssh_key(request: Request) -> Response:
    """A fresh Ed25519 keypair (spec §3.5); an oversized body counts as no body."""
    wizard = _wizard(request)
    try:
        body = await read_capped(request, SMALL_BODY_MAX_BYTES, InvalidCredentialsBody)
    except InvalidCredentialsBody:
        body = b""
    reply = wizard.generate_ssh_key(body)
    if reply.status != 200:
        return _reply(reply)
    return json_response(reply.body, reply.status, headers=secret_headers())  # a private key


@router.post("/registrar/{registrar:path}/validate")
async def registrar_validate(registrar: str, request: Request) -> Response:
    """BYO registrar credential check, relayed to pool-domain-manager (spec §7.4)."""
    wizard = _wizard(request)
    name = wizard.registrar.resolve(registrar)
    body = await read_capped(
        request, REGISTRAR_MAX_BYTES, lambda: wizard.registrar.too_large("validate")
    )
    return _relay(await wizard.registrar_validate(name, body))


@router.post("/registrar/{registrar:path}/set-ns")
async def registrar_set_ns(registrar: str, request: Request) -> Response:
    """BYO nameserver switch, relayed to pool-domain-manager (spec §7.4)."""
    wizard = _wizard(request)
    name = wizard.registrar.resolve(registrar)
    body = await read_capped(
        request, REGISTRAR_MAX_BYTES, lambda: wizard.registrar.too_large("set-ns")
    )
    return _relay(await wizard.registrar_set_ns(name, body))
