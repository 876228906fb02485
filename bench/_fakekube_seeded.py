"""A fake kube-apiserver (plain http, loopback) in its own process, seeded with N Pods (namespace
`apps`): `python -m bench._fakekube_seeded KUBECONFIG_OUT N`. Writes the kubeconfig once the
objects are in, prints `ready`, serves until SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from pathlib import Path

from bench._k8sobjects import pod
from catalyst_sandbox.fakekube import FakeKubeServer


async def _serve(out: Path, n: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with FakeKubeServer(token="bench-token") as kube:
        kube.state.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "apps"}})
        for i in range(n):
            obj = pod(i)
            del obj["metadata"]["uid"], obj["metadata"]["resourceVersion"]
            kube.state.create(obj)
        kube.write_kubeconfig(out)
        print("ready", flush=True)
        await stop.wait()


def main() -> None:
    logging.getLogger("uvicorn.error").setLevel(logging.CRITICAL)
    asyncio.run(_serve(Path(sys.argv[1]), int(sys.argv[2])))


if __name__ == "__main__":
    main()
