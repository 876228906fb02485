"""catalyst-api as `catalyst-api serve` runs it, in `open` mode or `required` mode with a tokens
file and an OIDC issuer: `python -m bench._auth_server PORT DATA_DIR [TOKENS ISSUER AUDIENCE]`."""

from __future__ import annotations

import sys
from pathlib import Path

from bench._list_page_server import TickingProvisioner
from bench._serving import serve

if __name__ == "__main__":
    port, data = int(sys.argv[1]), Path(sys.argv[2])
    env: dict[str, str] = {}
    if len(sys.argv) > 3:
        env = {
            "CATALYST_AUTH_MODE": "required",
            "CATALYST_AUTH_TOKENS_FILE": sys.argv[3],
            "CATALYST_AUTH_OIDC_ISSUER": sys.argv[4],
            "CATALYST_AUTH_OIDC_AUDIENCE": sys.argv[5],
        }
    serve(port, data, TickingProvisioner(), env)
