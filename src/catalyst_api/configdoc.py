"""Render the configuration table of `docs/configuration.md` from the `Settings` class.

`python -m catalyst_api.configdoc --write` rewrites the table between the markers in the doc;
`tests/test_configuration.py` fails when the committed doc differs from this rendering.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

from .config import Settings, format_go_duration

__all__ = ["BEGIN", "END", "render_table", "replace_table"]

BEGIN = "<!-- BEGIN GENERATED SETTINGS TABLE (python -m catalyst_api.configdoc --write) -->"
END = "<!-- END GENERATED SETTINGS TABLE -->"


def _default_text(value: object, has_factory: bool) -> str:
    if has_factory:
        return "`tofu` if on PATH, else `terraform`"
    if hasattr(value, "get_secret_value"):
        value = value.get_secret_value()
    if isinstance(value, timedelta):
        value = format_go_duration(value)
    if isinstance(value, bool):
        value = str(value).lower()
    text = str(value)
    return f"`{text}`" if text else "(empty)"


def render_table() -> str:
    """The Markdown table: variable, default, secret?, effect."""
    lines = [
        "| Variable | Default | Secret | Effect |",
        "|---|---|---|---|",
    ]
    for field in Settings.model_fields.values():
        secret = "yes" if "SecretStr" in str(field.annotation) else ""
        default = _default_text(field.default, field.default_factory is not None)
        lines.append(f"| `{field.validation_alias}` | {default} | {secret} | {field.description} |")
    return "\n".join(lines)


def replace_table(document: str) -> str:
    """The document with the generated table between the markers replaced."""
    head, sep, rest = document.partition(BEGIN)
    if not sep or END not in rest:
        raise ValueError("configuration doc is missing the generated-table markers")
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n{render_table()}\n{END}{tail}"


def main(argv: list[str]) -> int:
    doc = Path(argv[argv.index("--doc") + 1]) if "--doc" in argv else Path("docs/configuration.md")
    updated = replace_table(doc.read_text())
    if "--write" in argv:
        doc.write_text(updated)
        return 0
    sys.stdout.write(render_table() + "\n")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main(sys.argv[1:]))
