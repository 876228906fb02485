"""What the server imports at start-up: the k8scache's cold-start budget (platform §4, lists
from snapshots within 1 s of process start) has no room for modules the service never uses."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import json, sys
import catalyst_api.app, catalyst_api.serving
loaded = sorted({m.split(".")[0] for m in sys.modules})
import structlog, httpx, rich.table
structlog.get_logger("probe").info("still logs")
print(json.dumps({"loaded": loaded, "rich_after": "rich.table" in sys.modules}))
"""


def test_the_server_does_not_import_rich_but_the_cli_still_can() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=True
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert "rich" not in result["loaded"]
    assert "pygments" not in result["loaded"]
    assert result["rich_after"], "rich stays importable for the CLI's live tables"
