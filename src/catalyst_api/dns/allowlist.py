"""The managed pool-domain allowlist (spec §7.1), resolved once per process from settings.

Order: `DYNADOT_MANAGED_DOMAINS` (comma/space separated, lower-cased, deduplicated) if it yields
at least one domain, else `DYNADOT_DOMAIN`, else the built-in `openova.io` and `omani.works`.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_MANAGED_DOMAINS", "ManagedDomains", "parse_domain_list"]

DEFAULT_MANAGED_DOMAINS = frozenset({"openova.io", "omani.works"})


def parse_domain_list(raw: str) -> list[str]:
    """Lower-case, commas → spaces, split on whitespace, dedupe (first occurrence kept)."""
    seen: dict[str, None] = {}
    for token in raw.lower().replace(",", " ").split():
        seen.setdefault(token, None)
    return list(seen)


@dataclass(frozen=True, slots=True)
class ManagedDomains:
    """The allowlist; build it once with `from_settings_values`."""

    domains: frozenset[str]

    @classmethod
    def from_settings_values(cls, managed_domains: str, legacy_domain: str) -> ManagedDomains:
        listed = parse_domain_list(managed_domains)
        if listed:
            return cls(frozenset(listed))
        legacy = legacy_domain.strip().lower()
        if legacy:
            return cls(frozenset({legacy}))
        return cls(DEFAULT_MANAGED_DOMAINS)

    def is_managed(self, domain: str) -> bool:
        """Membership of `lower(trim(domain))`; empty is never managed."""
        key = domain.strip().lower()
        return bool(key) and key in self.domains

    def sorted(self) -> list[str]:
        return sorted(self.domains)
