"""Trusted proxy: a user and groups header, believed only from configured proxy addresses."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from .principal import Principal, role_from_names

__all__ = ["TrustedProxy"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class TrustedProxy:
    """Principals from `user_header` / `groups_header` of requests from `cidrs`."""

    def __init__(self, *, cidrs: str, user_header: str, groups_header: str) -> None:
        self.networks: list[Network] = [
            ipaddress.ip_network(p.strip(), strict=False) for p in cidrs.split(",") if p.strip()
        ]
        self.user_header = user_header
        self.groups_header = groups_header

    def trusts(self, client_host: str | None) -> bool:
        if not client_host or not self.networks:
            return False
        try:
            address = ipaddress.ip_address(client_host)
        except ValueError:
            return False
        return any(address in net for net in self.networks)

    def principal(
        self, client_host: str | None, header: Callable[[str], str | None]
    ) -> Principal | None:
        """The proxy's user, or None (no user, or the request is not from a trusted proxy)."""
        if not self.trusts(client_host):
            return None
        user = (header(self.user_header) or "").strip()
        if not user:
            return None
        groups = (header(self.groups_header) or "").split(",")
        return Principal(user, role_from_names(groups), "proxy")
