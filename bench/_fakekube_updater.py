"""Fake kube-apiservers (plain http, loopback) in their own process, for the stream benchmark:
`python -m bench._fakekube_updater KUBECONFIG_DIR CLUSTERS RATE SECONDS`.

Starts CLUSTERS servers, each with 10 Pods in namespace `apps`, writes `c<i>.yaml` kubeconfigs,
prints `ready`; on a line on stdin, patches Pods round-robin across the clusters at RATE
updates/s for SECONDS, each update stamping the annotations `bench/sent` (wall clock) and
`bench/seq`; then prints `{"sent": {cluster: [seq, ...]}, "seconds": ...}` and serves on until
SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import sys
import time
from pathlib import Path

from bench._k8sobjects import pod
from catalyst_sandbox.fakekube import FakeKubeServer

PODS = 10


async def _run(directory: Path, clusters: int, rate: float, seconds: float) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with contextlib.AsyncExitStack() as stack:
        kubes = [
            await stack.enter_async_context(FakeKubeServer(token="t")) for _ in range(clusters)
        ]
        logging.getLogger("uvicorn.error").disabled = True
        names: list[str] = []
        for c, kube in enumerate(kubes):
            kube.state.create(
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "apps"}}
            )
            for i in range(PODS):
                obj = pod(i)
                del obj["metadata"]["uid"], obj["metadata"]["resourceVersion"]
                kube.state.create(obj)
                if c == 0:
                    names.append(obj["metadata"]["name"])
            kube.write_kubeconfig(directory / f"c{c}.yaml")
        print("ready", flush=True)
        await loop.run_in_executor(None, sys.stdin.readline)
        sent: dict[str, list[int]] = {f"c{c}": [] for c in range(clusters)}
        start = loop.time()
        total = int(rate * seconds)
        for n in range(total):
            due = start + n / rate
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            c = n % clusters
            kubes[c].state.patch(
                "v1",
                "Pod",
                "apps",
                names[(n // clusters) % PODS],
                {
                    "metadata": {
                        "annotations": {"bench/sent": f"{time.time():.6f}", "bench/seq": str(n)}
                    }
                },
            )
            sent[f"c{c}"].append(n)
        took = loop.time() - start
        print(json.dumps({"sent": sent, "seconds": took}), flush=True)
        await stop.wait()


def main() -> None:
    directory, clusters = Path(sys.argv[1]), int(sys.argv[2])
    rate, seconds = float(sys.argv[3]), float(sys.argv[4])
    asyncio.run(_run(directory, clusters, rate, seconds))


if __name__ == "__main__":
    main()
