"""k8scache memory (issue 12): resident growth per cached object against its JSON size.

Each measurement runs in a fresh child process (`bench._k8scache_memory_child`): N Pods (~1 KB
of JSON each) parsed and upserted into the cache's indexer, cleaned as the informer does. The
baseline, in the same run: the same N JSON documents held as exact-size strings. Target: growth
per object ≤ 2× its JSON size. `BENCH_K8SCACHE_MEMORY_OBJECTS` sets N.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import orjson

from bench._serving import ROOT

N = int(os.environ.get("BENCH_K8SCACHE_MEMORY_OBJECTS", "50000"))
TARGET = 2.0


def _child(mode: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "bench._k8scache_memory_child", str(N), mode],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=300,
    ).stdout
    result: dict[str, Any] = orjson.loads(out.splitlines()[-1])
    return result


def main() -> bool:
    cache = _child("cache")
    raw = _child("json")
    per_json = cache["json_bytes"] / N
    per_obj = cache["growth"] / N
    per_raw = raw["growth"] / N
    ratio = per_obj / per_json
    print(
        f"{N} Pods, {per_json:.0f} bytes of JSON each ({cache['json_bytes'] / (1 << 20):.1f} MiB)"
    )
    print(
        f"cache indexer: +{cache['growth'] / (1 << 20):.1f} MiB resident, "
        f"{per_obj:.0f} bytes per object = {ratio:.2f}x its JSON size (target <= {TARGET:.1f}x)"
    )
    print(
        f"baseline, the JSON held as strings: +{raw['growth'] / (1 << 20):.1f} MiB, {per_raw:.0f} "
        f"bytes per object; cache / baseline {per_obj / per_raw:.2f}x"
    )
    return ratio <= TARGET


if __name__ == "__main__":
    raise SystemExit(0 if main() else 1)
