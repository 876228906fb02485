"""Run catalyst-api with the scripted Phase 0 / Phase 1 backends in its own process.

Usage: python serve_scripted.py PORT LINES DELAY  (data dirs from the environment)
Used by crash tests (kill -9) that need a real separate server process. Optional environment:
`SCRIPTED_PHASE1_DELAY` (seconds before each component event), `SCRIPTED_POSTBACK=1` (PUT the
kubeconfig back to this server after Phase 0, like cloud-init) or `=<base URL>` (to that one).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import uvicorn

from catalyst_api.app import create_app
from catalyst_api.config import Settings
from catalyst_api.logs import configure_logging
from catalyst_api.wiring import Overrides
from support.fakes import ScriptedPhase1, ScriptedProvisioner


def main() -> None:
    port, lines, delay = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    settings = Settings.from_env(dict(os.environ))
    configure_logging("warning")
    postback = os.environ.get("SCRIPTED_POSTBACK") or None
    if postback == "1":
        postback = f"http://127.0.0.1:{port}"
    overrides = Overrides(
        provisioner=ScriptedProvisioner(lines=lines, delay=delay, postback_base=postback),
        phase1=ScriptedPhase1(delay=float(os.environ.get("SCRIPTED_PHASE1_DELAY", "0"))),
    )
    uvicorn.run(
        create_app(settings, overrides=overrides),
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
    )


if __name__ == "__main__":
    main()
