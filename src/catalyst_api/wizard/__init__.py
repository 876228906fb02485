"""Wizard helpers: the services behind the endpoints the Sovereign wizard calls before it
creates a deployment.

What: Hetzner token check (`/credentials/validate`), subdomain availability
(`/subdomains/check`: PDM or the embedded allocator for managed pools, DNS for BYO), Ed25519
keypairs (`/sshkey/generate`) and the BYO registrar proxy to pool-domain-manager
(`/registrar/{r}/validate|set-ns`).
Setup: `wiring.build_services` builds one `WizardService` with the shared `httpx.AsyncClient`,
the managed-domain allowlist and a read-only view of the deployments (who holds a pool
subdomain). `api/wizard.py` is its router.
Trade-offs: nothing here is stored; tokens and keys are never logged. The DNS resolver is a
seam (`SubdomainChecker.resolver`) so tests never need the internet.
"""

from .models import Relay, Reply
from .registrar import SUPPORTED_REGISTRARS, RegistrarProxy
from .service import SMALL_BODY_MAX_BYTES, InvalidCredentialsBody, WizardService
from .sshkeys import SshKeyPair, comment_for, fingerprint_of, generate_keypair
from .subdomains import NameNotFound, Resolver, SubdomainChecker, system_resolver

__all__ = [
    "SMALL_BODY_MAX_BYTES",
    "SUPPORTED_REGISTRARS",
    "InvalidCredentialsBody",
    "NameNotFound",
    "RegistrarProxy",
    "Relay",
    "Reply",
    "Resolver",
    "SshKeyPair",
    "SubdomainChecker",
    "WizardService",
    "comment_for",
    "fingerprint_of",
    "generate_keypair",
    "system_resolver",
]
