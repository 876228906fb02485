"""Phase 1 watch overhead: 50 concurrent HelmRelease watches against 50 fake Sovereigns.

The 50 fake kube-apiservers (11 `bp-*` HelmReleases each) run in a separate process, which
updates every HelmRelease `rate` times per second, spread evenly, flipping its Ready condition
between installing and degraded so that each update is a state change, and stamping the send
time into the condition message. This process runs 50 `HelmReleaseWatcher`s (kube client,
reflector, state derivation, emit) and measures apiserver→emit latency and its own CPU.

Baseline, same run, same clusters and rate: 50 bare lightkube `AsyncClient.watch()` loops that
only decode each event and read the stamp (no resume logic, no processing).

Target: p99 ≤ 200 ms at 1 update/s per HelmRelease (550 events/s), nothing lost. Then the rate
doubles until the p99 target breaks or the fake apiserver process can no longer send that many
updates (then the reported ceiling is the fake's, not ours).

Each step measures baseline and ours alternately BENCH_PHASE1_REPEATS times and keeps each
side's best run, because other work on a shared host shows up as latency spikes.

Environment knobs: BENCH_PHASE1_CLUSTERS (50), BENCH_PHASE1_SECONDS (per step, 5),
BENCH_PHASE1_MAX_RATE (32), BENCH_PHASE1_REPEATS (2).
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing as mp
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

CLUSTERS = int(os.environ.get("BENCH_PHASE1_CLUSTERS", "50"))
RELEASES = 11
STEP_SECONDS = float(os.environ.get("BENCH_PHASE1_SECONDS", "5"))
MAX_RATE = float(os.environ.get("BENCH_PHASE1_MAX_RATE", "32"))
REPEATS = int(os.environ.get("BENCH_PHASE1_REPEATS", "2"))
TARGET_P99_MS = 200.0
HR = "helm.toolkit.fluxcd.io/v2"
STAMP = "bench t="


# --- the fake Sovereigns (child process) ----------------------------------------------------


def _status(state_flip: bool, stamp: float) -> dict[str, Any]:
    if state_flip:
        cond = {"type": "Ready", "status": "Unknown", "reason": "Progressing"}
    else:
        cond = {"type": "Ready", "status": "False", "reason": "RetryExhausted"}
    cond["message"] = f"{STAMP}{stamp:.6f}"
    cond["lastTransitionTime"] = "2026-04-30T10:00:00Z"
    return {"conditions": [cond]}


def _serve_fakes(conn: Connection, clusters: int) -> None:
    """Child process: start the fakes, report kubeconfigs, then obey rate commands."""
    asyncio.run(_fakes_main(conn, clusters))


async def _fakes_main(conn: Connection, clusters: int) -> None:
    import logging

    from catalyst_sandbox.fakekube import FakeKubeServer

    # Shutting down with watch streams still open makes uvicorn log cancelled responses.
    logging.getLogger("uvicorn.error").setLevel(logging.CRITICAL)

    async with contextlib.AsyncExitStack() as stack:
        kubes = [
            await stack.enter_async_context(FakeKubeServer(token=f"bench-{i}", bookmark_interval=5))
            for i in range(clusters)
        ]
        names = [f"bp-c{j:02d}" for j in range(RELEASES)]
        for kube in kubes:
            kube.state.create(  # a running helm-controller: the log tailer follows it
                {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {
                        "name": "helm-controller-0",
                        "namespace": "flux-system",
                        "labels": {"app": "helm-controller"},
                    },
                    "spec": {"containers": [{"name": "manager", "image": "helm-controller"}]},
                    "status": {"phase": "Running"},
                }
            )
            for name in names:
                kube.state.create(
                    {
                        "apiVersion": HR,
                        "kind": "HelmRelease",
                        "metadata": {"name": name, "namespace": "flux-system"},
                        "spec": {},
                        "status": _status(False, time.time()),
                    }
                )
        conn.send([k.kubeconfig_yaml() for k in kubes])
        loop = asyncio.get_running_loop()
        flips: dict[tuple[int, int], bool] = {}
        while True:
            command = await loop.run_in_executor(None, conn.recv)
            if command[0] == "stop":
                return
            _, rate, seconds = command
            sent = await _drive(kubes, names, flips, rate, seconds)
            conn.send(sent)


async def _drive(
    kubes: list[Any],
    names: list[str],
    flips: dict[tuple[int, int], bool],
    rate: float,
    seconds: float,
) -> dict[str, float]:
    """Update every HelmRelease `rate` times per second for `seconds`, evenly spread."""
    targets = [(i, j) for j in range(len(names)) for i in range(len(kubes))]
    per_second = rate * len(targets)
    total = int(per_second * seconds)
    start = time.perf_counter()
    sent = 0
    late = 0.0
    while sent < total:
        now = time.perf_counter()
        due = min(total, int((now - start) * per_second) + 1)
        while sent < due:
            i, j = targets[sent % len(targets)]
            flip = not flips.get((i, j), False)
            flips[(i, j)] = flip
            kubes[i].state.set_status(
                HR, "HelmRelease", "flux-system", names[j], _status(flip, time.time())
            )
            sent += 1
        late = max(late, time.perf_counter() - (start + sent / per_second))
        await asyncio.sleep(max(0.0, start + sent / per_second - time.perf_counter()))
    elapsed = time.perf_counter() - start
    return {"sent": float(sent), "elapsed": elapsed, "achieved_rate": sent / elapsed / len(targets)}


# --- measurement (this process) -----------------------------------------------------------


@dataclass
class Window:
    """Latencies of the events stamped after the measured window opened."""

    start: float = float("inf")
    latencies: list[float] = field(default_factory=list)

    def record(self, message: str) -> None:
        if not message.startswith(STAMP):
            return
        stamp = float(message[len(STAMP) :])
        if stamp >= self.start:
            self.latencies.append(time.time() - stamp)


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


Started = tuple[list["asyncio.Task[None]"], Callable[[], bool]]


async def _ours(kubeconfigs: list[bytes], window: Window) -> Started:
    from catalyst_api.kube import KubeClient, WatchTiming
    from catalyst_api.phase1 import HelmReleaseWatcher, WatchConfig

    config = WatchConfig(
        timeout=3600, min_bootstrap_kit_hrs=10**6, first_seen_timeout=3600, timing=WatchTiming()
    )
    watchers: list[HelmReleaseWatcher] = []

    def emit(event: Any) -> None:
        window.record(event.message)

    async def one(data: bytes) -> None:
        async with KubeClient.from_kubeconfig(data) as client:
            watcher = HelmReleaseWatcher(client, emit=emit, config=config)
            watchers.append(watcher)
            await watcher.run()

    tasks = [asyncio.create_task(one(k)) for k in kubeconfigs]

    def ready() -> bool:
        return len(watchers) == len(kubeconfigs) and all(w.synced for w in watchers)

    return tasks, ready


async def _baseline(kubeconfigs: list[bytes], window: Window) -> Started:
    import yaml
    from lightkube import AsyncClient, KubeConfig
    from lightkube.generic_resource import create_namespaced_resource

    resource = create_namespaced_resource(
        "helm.toolkit.fluxcd.io", "v2", "HelmRelease", "helmreleases"
    )
    initial = [0] * len(kubeconfigs)

    async def one(n: int, data: bytes) -> None:
        client = AsyncClient(KubeConfig.from_dict(yaml.safe_load(data)), trust_env=False)
        try:
            async for _, obj in client.watch(resource, namespace="flux-system"):
                initial[n] += 1
                for cond in (obj.get("status") or {}).get("conditions") or []:
                    if cond.get("type") == "Ready":
                        window.record(str(cond.get("message") or ""))
        finally:
            await client.close()

    tasks = [asyncio.create_task(one(n, k)) for n, k in enumerate(kubeconfigs)]
    return tasks, lambda: all(count >= RELEASES for count in initial)


async def _measure(
    conn: Connection, kubeconfigs: list[bytes], rate: float, which: str
) -> dict[str, float]:
    window = Window()
    starter = _ours if which == "ours" else _baseline
    tasks, ready = await starter(kubeconfigs, window)
    deadline = time.monotonic() + 30
    while not ready():  # every watch connected and listed
        if time.monotonic() > deadline:
            raise RuntimeError(f"{which}: watches did not sync within 30s")
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)
    cpu0, wall0 = time.process_time(), time.monotonic()
    window.start = time.time()
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, conn.send, ("rate", rate, STEP_SECONDS))
    sent = await loop.run_in_executor(None, conn.recv)
    cpu = (time.process_time() - cpu0) / (time.monotonic() - wall0)
    drain = time.monotonic() + 3
    while len(window.latencies) < sent["sent"] and time.monotonic() < drain:
        await asyncio.sleep(0.05)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    lat = window.latencies
    return {
        "p50_ms": _pct(lat, 0.50),
        "p99_ms": _pct(lat, 0.99),
        "max_ms": max(lat, default=float("nan")) * 1000,
        "mean_ms": statistics.fmean(lat) * 1000 if lat else float("nan"),
        "cpu": cpu,
        "sent": sent["sent"],
        "received": float(len(lat)),
        "achieved_rate": sent["achieved_rate"],
    }


def _line(label: str, r: dict[str, float]) -> str:
    return (
        f"  {label:<9} p50 {r['p50_ms']:7.1f} ms  p99 {r['p99_ms']:7.1f} ms  "
        f"max {r['max_ms']:7.1f} ms  cpu {r['cpu']:5.2f} core  "
        f"events {int(r['received'])}/{int(r['sent'])}"
    )


async def _run(conn: Connection, kubeconfigs: list[bytes]) -> bool:
    ok = False
    best_rate = 0.0
    rate = 1.0
    note = ""
    while rate <= MAX_RATE:
        events_per_s = rate * RELEASES * len(kubeconfigs)
        print(f"rate {rate:g}/s per HelmRelease ({events_per_s:.0f} updates/s):", flush=True)
        runs: dict[str, list[dict[str, float]]] = {"baseline": [], "ours": []}
        for _ in range(REPEATS):  # alternate; keep each side's best run (the host is shared)
            for which in ("baseline", "ours"):
                runs[which].append(await _measure(conn, kubeconfigs, rate, which))
        base = min(runs["baseline"], key=lambda r: r["p99_ms"])
        ours = min(runs["ours"], key=lambda r: r["p99_ms"])
        print(_line("baseline", base))
        print(_line("ours", ours))
        ratio_p99 = ours["p99_ms"] / base["p99_ms"] if base["p99_ms"] else float("nan")
        ratio_cpu = ours["cpu"] / base["cpu"] if base["cpu"] else float("nan")
        print(f"  ratio ours/baseline: p99 {ratio_p99:.3g}x  cpu {ratio_cpu:.3g}x", flush=True)
        meets = ours["p99_ms"] <= TARGET_P99_MS and ours["received"] >= ours["sent"]
        if rate == 1.0:
            ok = meets
            verdict = "meets" if meets else "MISSES"
            print(f"  target p99 ≤ {TARGET_P99_MS:.0f} ms, nothing lost at 1/s: {verdict}")
        if ours["achieved_rate"] < 0.9 * rate:
            note = (
                f" (the fake apiserver process could only send "
                f"{ours['achieved_rate']:.1f}/s per HelmRelease at {rate:g}/s)"
            )
            break
        if not meets:
            if base["p99_ms"] > TARGET_P99_MS or base["received"] < base["sent"]:
                note = (
                    f" (at {rate:g}/s the bare-lightkube baseline misses the target too: the "
                    "fake apiserver process / the host is the bottleneck there)"
                )
            break
        best_rate = rate
        rate *= 2
    print(
        f"highest rate meeting p99 ≤ {TARGET_P99_MS:.0f} ms: {best_rate:g}/s per HelmRelease "
        f"({best_rate * RELEASES * len(kubeconfigs):.0f} updates/s over {len(kubeconfigs)} "
        f"clusters){note}"
    )
    return ok


def main() -> bool:
    """Run the benchmark and print the figures; True when the 1/s target is met."""
    from catalyst_api.logs import configure_logging

    configure_logging("error")  # retry warnings of an overloaded fake would drown the figures
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_serve_fakes, args=(child, CLUSTERS), daemon=True)
    proc.start()
    try:
        kubeconfigs = [k.encode() for k in parent.recv()]
        print(
            f"{len(kubeconfigs)} fake Sovereigns × {RELEASES} HelmReleases in pid {proc.pid}; "
            f"watches in pid {os.getpid()}; {STEP_SECONDS:g}s per step",
            flush=True,
        )
        return asyncio.run(_run(parent, kubeconfigs))
    finally:
        with contextlib.suppress(Exception):
            parent.send(("stop",))
        proc.join(10)
        if proc.is_alive():
            proc.terminate()


if __name__ == "__main__":
    raise SystemExit(0 if main() else 1)
