"""Go-compatible time formats shared by records, events and jobs (RFC3339, RFC3339Nano,
the Go zero time as unset)."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["format_rfc3339", "format_rfc3339_nano", "parse_time", "utcnow"]

_GO_ZERO_PREFIX = "0001-01-01T00:00:00"


def utcnow() -> datetime:
    return datetime.now(UTC)


def format_rfc3339(value: datetime) -> str:
    """`2006-01-02T15:04:05Z` (seconds precision, UTC)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_rfc3339_nano(value: datetime) -> str:
    """Go's default time JSON: fractional seconds with trailing zeros trimmed, `Z` for UTC."""
    value = value.astimezone(UTC)
    base = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        base += "." + f"{value.microsecond:06d}".rstrip("0")
    return base + "Z"


def parse_time(raw: object) -> datetime | None:
    """Parse an RFC3339(Nano) string; None, "" and Go's zero time mean unset."""
    if not isinstance(raw, str) or not raw or raw.startswith(_GO_ZERO_PREFIX):
        return None
    text = raw.strip()
    if text.endswith("Z") or text.endswith("z"):
        text = text[:-1] + "+00:00"
    # Python accepts at most 6 fractional digits; Go writes up to 9.
    if "." in text:
        head, _, rest = text.partition(".")
        digits = ""
        while rest and rest[0].isdigit():
            digits += rest[0]
            rest = rest[1:]
        text = f"{head}.{digits[:6].ljust(6, '0')}{rest}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
