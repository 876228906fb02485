"""Interpreter settings for the server process.

The GIL switch interval drops from CPython's 5 ms to 1 ms. catalyst-api is an event loop plus a
few I/O worker threads (fsync of event logs and records); each time a worker comes back from a
blocking call it must win the GIL from a busy loop, and at 5 ms per hand-off a single fsync
batch could take ~100 ms under a burst of events (measured by `bench/bench_event_append.py`).
With 1 ms the same batch is durable in a few milliseconds; the extra switching costs nothing
measurable for a process that is not CPU-parallel anyway.
"""

from __future__ import annotations

import gc
import sys

__all__ = ["GC_THRESHOLDS", "GIL_SWITCH_INTERVAL", "tune_interpreter"]

GIL_SWITCH_INTERVAL = 0.001
GC_THRESHOLDS = (20_000, 20, 20)


def tune_interpreter() -> None:
    """Apply the server's interpreter settings (idempotent); call once the app is imported."""
    sys.setswitchinterval(GIL_SWITCH_INTERVAL)
    # Everything imported so far lives for the whole process: move it out of the collector's
    # sight, and collect the young generation less often, so a full collection (which stalls
    # every SSE stream at once) stays rare and short.
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
