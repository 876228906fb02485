"""Who is calling, and what they may do (`CATALYST_AUTH_MODE=required`), plus the audit trail.

Principals come from an API tokens file, OIDC bearer JWTs or a trusted proxy's headers; each
has one role (viewer < operator < admin). No FastAPI here: `api/access.py` reads the request
and asks `Authenticator`; `AuditTrail` writes the audit log line and counter in both modes.
"""

from .audit import AuditTrail
from .authenticator import Authenticator, Credentials, InvalidCredential, build_authenticator
from .principal import Principal, Role, role_from_names
from .tokens import TokenFile, mint_token

__all__ = [
    "AuditTrail",
    "Authenticator",
    "Credentials",
    "InvalidCredential",
    "Principal",
    "Role",
    "TokenFile",
    "build_authenticator",
    "mint_token",
    "role_from_names",
]
