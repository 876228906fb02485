"""Principals and roles."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum

__all__ = ["Principal", "Role", "parse_role", "role_from_names"]


class Role(IntEnum):
    """Each role can do everything the ones below it can."""

    VIEWER = 1
    OPERATOR = 2
    ADMIN = 3

    @property
    def label(self) -> str:
        return self.name.lower()


_PREFIX = "catalyst-"


def parse_role(name: str) -> Role | None:
    """`viewer`, `catalyst-viewer`, `/catalyst-viewer` (a Keycloak group path) → the role."""
    text = name.strip().lstrip("/").lower()
    text = text.removeprefix(_PREFIX)
    try:
        return Role[text.upper()] if text else None
    except KeyError:
        return None


def role_from_names(names: Iterable[str]) -> Role | None:
    """The highest role named in `names` (`catalyst-viewer`, `catalyst-operator`,
    `catalyst-admin`); None when none is."""
    roles = [
        r for r in (parse_role(n) for n in names if n.strip().lstrip("/").startswith(_PREFIX)) if r
    ]
    return max(roles) if roles else None


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller: a name (also the k8scache SAR user), a role (None: known but
    allowed nothing) and where it came from (`token`, `oidc`, `proxy`)."""

    name: str
    role: Role | None
    source: str

    def has(self, role: Role) -> bool:
        return self.role is not None and self.role >= role

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN
