"""The whole Day-2 loop on `serve --sandbox` through the CLI (issue 13): add a node pool, see
Crossplane's stand-in make it Ready and bring its nodes, scale it, delete it by an alias."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest

from catalyst_api.client.infra import infra_main
from sandbox_e2e.harness import example_body, sandbox_factory

pytestmark = pytest.mark.timeout(240)  # a real sandbox server running OpenTofu


def _infra(url: str, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = infra_main(["--api-url", url, *argv], env={}, out=out)
    return code, out.getvalue()


def test_add_scale_and_delete_a_pool_with_the_cli(tmp_path: Path) -> None:
    factory = sandbox_factory(tmp_path)
    start = next(factory)
    try:
        server = start()
        dep = server.create(example_body())
        server.wait_status(dep, {"ready"}, timeout=150)
        code, out = _infra(server.url, "show", dep)
        assert code == 0 and "REGION region-" in out and "CLUSTER cluster-" in out

        code, out = _infra(
            server.url,
            "add-pool",
            dep,
            "--name",
            "gpu",
            "--sku",
            "ccx33",
            "--size",
            "2",
            "--wait",
            "--wait-timeout",
            "60",
        )
        assert code == 0, out
        assert f"submitted-pending-composition: NodePoolClaim {dep[:8]}-pool-gpu" in out
        assert "[claim-ready]" in out and out.rstrip().endswith("job succeeded")

        deadline = time.monotonic() + 30
        while True:  # the pool's nodes joined (read through the k8scache or the apiserver)
            code, out = _infra(server.url, "show", dep)
            if f"POOL {dep[:8]}-pool-gpu worker ccx33 2/2 healthy" in out:
                break
            assert time.monotonic() < deadline, out
            time.sleep(0.5)
        assert out.count(f"NODE {dep[:8]}-pool-gpu-") == 2

        code, out = _infra(
            server.url, "add-pool", dep, "--name", "fail-pool", "--wait", "--wait-timeout", "60"
        )
        assert code == 1 and "[claim-failed]" in out and "job failed" in out

        code, out = _infra(server.url, "delete", dep, "nodepool", "gpu")
        assert code == 0, out
        assert f"submitted-pending-composition: NodePoolClaim {dep[:8]}-pool-gpu" in out
        assert "cascade: node" in out
        deadline = time.monotonic() + 30
        while f"{dep[:8]}-pool-gpu" in _infra(server.url, "show", dep)[1]:
            assert time.monotonic() < deadline
            time.sleep(0.5)
        code, out = _infra(server.url, "delete", dep, "pools", "gpu")
        assert code == 0 and out.startswith("already-absent")
    finally:
        next(factory, None)
