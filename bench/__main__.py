"""Run every benchmark, or the ones named on the command line: `python -m bench [name ...]`."""

from __future__ import annotations

import importlib
import sys
import time

BENCHES = [
    "bench_event_append",
    "bench_sse_fanout",
    "bench_cold_start",
    "bench_phase1",
    "bench_memory_bounds",
    "bench_list_page",
    "bench_k8scache_cold_start",
    "bench_k8scache_memory",
    "bench_k8scache_list",
    "bench_k8scache_stream",
    "bench_auth",
    "bench_ha",
]


def main(argv: list[str]) -> int:
    names = argv or BENCHES
    failed = []
    for name in names:
        module_name = name if name.startswith("bench_") else f"bench_{name}"
        print(f"\n=== {module_name} ===", flush=True)
        start = time.monotonic()
        try:
            module = importlib.import_module(f"bench.{module_name}")
        except ModuleNotFoundError as exc:
            print(f"skipped: {exc}")
            continue
        ok = module.main()
        print(f"--- {module_name}: {'PASS' if ok else 'FAIL'} in {time.monotonic() - start:.1f}s")
        if not ok:
            failed.append(module_name)
    if failed:
        print("failed targets:", ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
