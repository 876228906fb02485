"""k8scache list (issue 12): 5,000 Pods from the cache endpoint
(`GET /api/v1/sovereigns/{id}/k8s/pod?limit=5000`, a real server process) against the same list
from the fake kube-apiserver directly (`GET /api/v1/pods`, its own process): sequential requests
on one keep-alive connection each, p50/p99 and the ratio. Target: cache p99 ≤ 50 ms.
`BENCH_K8SCACHE_LIST_OBJECTS` and `BENCH_K8SCACHE_LIST_REQUESTS` scale it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import yaml

from bench._serving import ROOT, server_process

OBJECTS = int(os.environ.get("BENCH_K8SCACHE_LIST_OBJECTS", "5000"))
REQUESTS = int(os.environ.get("BENCH_K8SCACHE_LIST_REQUESTS", "200"))
WARMUP = 5
TARGET_P99_MS = 50.0


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _time(client: httpx.Client, url: str, headers: dict[str, str]) -> tuple[list[float], int]:
    samples: list[float] = []
    count = 0
    for n in range(WARMUP + REQUESTS):
        start = time.perf_counter()
        resp = client.get(url, headers=headers)
        body = resp.content
        elapsed = time.perf_counter() - start
        resp.raise_for_status()
        if n >= WARMUP:
            samples.append(elapsed * 1000)
        count = len(resp.json()["items"]) if n == 0 else count
        del body
    return samples, count


def main() -> bool:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        kubeconfigs = data / "kubeconfigs"
        kubeconfigs.mkdir()
        kubeconfig = kubeconfigs / "c0.yaml"
        fake = subprocess.Popen(
            [sys.executable, "-m", "bench._fakekube_seeded", str(kubeconfig), str(OBJECTS)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert fake.stdout is not None
            assert fake.stdout.readline().strip() == "ready"
            config = yaml.safe_load(kubeconfig.read_text())
            kube_url = config["clusters"][0]["cluster"]["server"]
            token = config["users"][0]["user"]["token"]
            with server_process("_k8scache_server", str(data)) as (base, _port, _pid):
                cache_url = f"{base}/api/v1/sovereigns/c0/k8s/pod?limit={OBJECTS}"
                deadline = time.monotonic() + 60
                with httpx.Client(timeout=30) as client:
                    while True:
                        resp = client.get(cache_url)
                        if resp.status_code == 200 and len(resp.json()["items"]) == OBJECTS:
                            break
                        if time.monotonic() > deadline:
                            raise RuntimeError("the cache did not sync")
                        time.sleep(0.2)
                    cache, cache_n = _time(client, cache_url, {})
                with httpx.Client(timeout=30) as client:
                    direct, direct_n = _time(
                        client, f"{kube_url}/api/v1/pods", {"Authorization": f"Bearer {token}"}
                    )
        finally:
            fake.terminate()
            fake.wait(30)
    print(f"{OBJECTS} Pods, {REQUESTS} sequential requests each (after {WARMUP} warm-up)")
    for name, samples, n in (("cache", cache, cache_n), ("fake apiserver", direct, direct_n)):
        print(
            f"{name:>15}: {n} items, p50 {_pct(samples, 0.5):.1f} ms, "
            f"p90 {_pct(samples, 0.9):.1f} ms, p99 {_pct(samples, 0.99):.1f} ms, "
            f"max {max(samples):.1f} ms"
        )
    ratio50 = _pct(cache, 0.5) / _pct(direct, 0.5)
    ratio99 = _pct(cache, 0.99) / _pct(direct, 0.99)
    print(
        f"cache / apiserver: p50 {ratio50:.2f}x, p99 {ratio99:.2f}x; "
        f"target cache p99 <= {TARGET_P99_MS:.0f} ms"
    )
    return _pct(cache, 0.99) <= TARGET_P99_MS and cache_n == direct_n == OBJECTS


if __name__ == "__main__":
    raise SystemExit(0 if main() else 1)
