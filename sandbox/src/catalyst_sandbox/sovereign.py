"""`SimulatedSovereign`: one booted control plane — its kube-apiserver, cloud-init, Flux.

Booting plays the first control plane's cloud-init (spec §5, §6.4): k3s comes up (the fake
kube-apiserver over TLS on a loopback port, the node registered), the kubeconfig is PUT back to
catalyst-api with the one-time bearer over real HTTP (`postback`), then Flux installs the
bootstrap kit (`flux.FluxSimulator`). All along, a Crossplane stand-in composes the Day-2
claims catalyst-api writes (`crossplane.CrossplaneStandIn`).

Everything is persisted (`checkpoint()`, a `SandboxFiles` Sovereign file): apiserver port, token
and CA, the objects, the boot stage and the Flux progress, and, until the postback succeeded,
the one-time kubeconfig bearer, as a real node keeps its cloud-init (bearer included) on its
disk. `start()` on a persisted Sovereign brings the apiserver back on the same port with the
same CA and token and continues where it was: one restarted before its postback succeeded
retries the PUT the way cloud-init's `curl` keeps retrying (issue 14).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from dataclasses import asdict, dataclass
from typing import Any

import httpx
import structlog
from pydantic import SecretStr

from .cluster import SovereignApiServer, restore_objects, snapshot_objects
from .crossplane import CrossplaneStandIn
from .fakekube import FakeKubeState, KubeApiError
from .fakekube.tls import ClusterCA
from .flux import FluxProgress, FluxSimulator, SovereignInputs
from .kit import Timings
from .manifests import node
from .persistence import SandboxFiles
from .postback import put_kubeconfig

__all__ = ["BootInputs", "SimulatedSovereign"]

log = structlog.get_logger(__name__)

BOOT_STAGES = ("k3s-starting", "kubeconfig-postback", "flux")
_BIND_ATTEMPTS = 20
_BIND_RETRY_DELAY = 0.25


@dataclass(frozen=True, slots=True)
class BootInputs:
    """The non-secret inputs cloud-init gets (the bearer and GHCR token travel separately)."""

    deployment_id: str
    sovereign_fqdn: str
    catalyst_api_url: str
    org_name: str = ""
    org_email: str = ""
    region: str = ""
    gitops_repo_url: str = ""
    gitops_branch: str = "main"
    k3s_version: str = ""
    lb_ipv4: str = ""
    node_name: str = ""
    node_ip: str = ""

    def to_json(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> BootInputs:
        names = cls.__dataclass_fields__
        return cls(**{k: str(v) for k, v in raw.items() if k in names})


class SimulatedSovereign:
    """One Sovereign; build with `boot()` (new) or `restore()` (persisted), then `start()`."""

    def __init__(
        self,
        *,
        inputs: BootInputs,
        files: SandboxFiles,
        http: httpx.AsyncClient,
        timings: Timings,
        fail: frozenset[str],
        ghcr_token: str,
        token: str,
        ca: ClusterCA,
        port: int = 0,
        boot_stage: str = BOOT_STAGES[0],
        progress: FluxProgress | None = None,
        objects: list[dict[str, Any]] | None = None,
        bearer: SecretStr | None = None,
        flaky: frozenset[str] = frozenset(),
    ) -> None:
        self.inputs = inputs
        self.files = files
        self.http = http
        self.timings = timings
        self.fail = fail
        self.flaky = flaky
        self.port = port
        self.boot_stage = boot_stage
        self.progress = progress or FluxProgress()
        self._ghcr_token = ghcr_token
        self._token = token
        self._ca = ca
        self._objects = objects or []
        self._bearer = bearer
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._crossplane: asyncio.Task[None] | None = None
        self._server: SovereignApiServer | None = None
        self._simulator: FluxSimulator | None = None
        self._deleted = False
        self.postback_ok: bool | None = None

    # --- construction --------------------------------------------------------------------------

    @classmethod
    def boot(
        cls,
        inputs: BootInputs,
        *,
        bearer: SecretStr | None,
        ghcr_token: str,
        files: SandboxFiles,
        http: httpx.AsyncClient,
        timings: Timings,
        fail: frozenset[str],
        flaky: frozenset[str] = frozenset(),
    ) -> SimulatedSovereign:
        """A brand-new Sovereign (new CA and apiserver token); without a bearer (or without
        an API URL) there is no postback, as cloud-init renders none."""
        return cls(
            inputs=inputs,
            files=files,
            http=http,
            timings=timings,
            fail=fail,
            flaky=flaky,
            ghcr_token=ghcr_token,
            token=secrets.token_hex(32),
            ca=ClusterCA.generate(f"k3s-server-ca@{inputs.sovereign_fqdn}"),
            bearer=bearer if inputs.catalyst_api_url and inputs.deployment_id else None,
        )

    @classmethod
    def restore(
        cls,
        raw: dict[str, Any],
        *,
        ghcr_token: str,
        files: SandboxFiles,
        http: httpx.AsyncClient,
        timings: Timings,
    ) -> SimulatedSovereign:
        """A Sovereign from its persisted file (`ValueError` / `KeyError` when malformed)."""
        ca = raw["ca"]
        bearer = raw.get("kubeconfigBearer")
        return cls(
            inputs=BootInputs.from_json(raw["inputs"]),
            files=files,
            http=http,
            timings=timings,
            fail=frozenset(str(c) for c in raw.get("fail") or []),
            flaky=frozenset(str(c) for c in raw.get("flaky") or []),
            bearer=SecretStr(bearer) if isinstance(bearer, str) and bearer else None,
            ghcr_token=ghcr_token,
            token=str(raw["token"]),
            ca=ClusterCA(str(ca["cert"]).encode(), str(ca["key"]).encode()),
            port=int(raw.get("port") or 0),
            boot_stage=str(raw.get("bootStage") or BOOT_STAGES[0]),
            progress=FluxProgress.from_json(raw.get("flux") or {}),
            objects=[o for o in raw.get("objects") or [] if isinstance(o, dict)],
        )

    # --- properties ----------------------------------------------------------------------------

    @property
    def deployment_id(self) -> str:
        return self.inputs.deployment_id

    @property
    def state(self) -> FakeKubeState:
        """The cluster's objects (only after `start()`)."""
        if self._server is None:
            raise RuntimeError("sovereign not started")
        return self._server.state

    @property
    def api_url(self) -> str:
        """`https://127.0.0.1:<port>` once started."""
        return self._server.url if self._server is not None else ""

    def kubeconfig_yaml(self) -> str:
        """The kubeconfig k3s would write (server, CA, the apiserver token)."""
        if self._server is None:
            raise RuntimeError("sovereign not started")
        return self._server.kubeconfig_yaml(context=self.inputs.sovereign_fqdn)

    def describe(self) -> dict[str, Any]:
        """Non-secret summary for the sandbox inventory endpoint."""
        return {
            "deploymentId": self.deployment_id,
            "sovereignFQDN": self.inputs.sovereign_fqdn,
            "apiServer": self.api_url,
            "bootStage": self.boot_stage,
            "flux": self.progress.stage,
            "components": self.progress.states(),
            "failInjected": sorted(self.fail),
            "flakyInjected": sorted(self.flaky),
        }

    # --- persistence ---------------------------------------------------------------------------

    def _record(self) -> dict[str, Any]:
        objects = snapshot_objects(self._server.state) if self._server else self._objects
        record: dict[str, Any] = {
            "deploymentId": self.deployment_id,
            "inputs": self.inputs.to_json(),
            "port": self.port,
            "token": self._token,
            "ca": {"cert": self._ca.cert_pem.decode(), "key": self._ca.key_pem.decode()},
            "fail": sorted(self.fail),
            "flaky": sorted(self.flaky),
            "bootStage": self.boot_stage,
            "flux": self.progress.to_json(),
            "objects": objects,
        }
        if self._bearer is not None:  # cloud-init's copy, until the postback succeeded
            record["kubeconfigBearer"] = self._bearer.get_secret_value()
        return record

    async def checkpoint(self) -> None:
        """Persist the Sovereign now. A failed write is logged and the simulation goes on
        (the next checkpoint writes everything again)."""
        async with self._lock:
            if self._deleted:
                return
            try:
                await self.files.awrite_sovereign(self.deployment_id, self._record())
            except OSError as exc:
                log.warning(
                    "sandbox sovereign not saved", deployment_id=self.deployment_id, error=str(exc)
                )

    # --- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Serve the apiserver (same port and CA when restored) and carry on booting.

        `OSError` when a restored Sovereign's port stays taken: its kubeconfig names that
        port, so it is not moved (and its file is left as it was)."""
        state = FakeKubeState(addons=True)  # a Sovereign serves the add-on and claim CRDs
        restore_objects(state, self._objects)
        server = await self._serve(state)
        self._server = server
        self.port = server.port
        self._objects = []
        self._simulator = FluxSimulator(
            state,
            inputs=SovereignInputs(
                fqdn=self.inputs.sovereign_fqdn,
                org_name=self.inputs.org_name,
                gitops_repo_url=self.inputs.gitops_repo_url,
                gitops_branch=self.inputs.gitops_branch,
                node_name=self.inputs.node_name,
            ),
            ghcr_token=lambda: self._ghcr_token,
            fail=self.fail,
            flaky=self.flaky,
            timings=self.timings,
            progress=self.progress,
            checkpoint=self.checkpoint,
        )
        self._simulator.resume()
        self.add_node(self.inputs.node_name, role="control-plane", internal_ip=self.inputs.node_ip)
        await self.checkpoint()
        name = f"sandbox-sovereign:{self.deployment_id}"
        self._task = asyncio.create_task(self._run(), name=name)
        crossplane = CrossplaneStandIn(
            state, timings=self.timings, k3s_version=self.inputs.k3s_version
        )
        self._crossplane = asyncio.create_task(
            crossplane.run(), name=f"sandbox-crossplane:{self.deployment_id}"
        )
        log.info(
            "sandbox sovereign serving",
            deployment_id=self.deployment_id,
            fqdn=self.inputs.sovereign_fqdn,
            api_server=self.api_url,
            boot_stage=self.boot_stage,
            flux=self.progress.stage,
        )

    async def _serve(self, state: FakeKubeState) -> SovereignApiServer:
        """Start the apiserver; a restored Sovereign waits a little for its old port (the
        previous process may still be letting go of it), then gives up (`OSError`)."""
        for attempt in range(1, _BIND_ATTEMPTS + 1):
            server = SovereignApiServer(ca=self._ca, token=self._token, port=self.port, state=state)
            try:
                await server.start()
            except OSError:
                if not self.port or attempt == _BIND_ATTEMPTS:
                    raise
                await asyncio.sleep(_BIND_RETRY_DELAY)
            else:
                return server
        raise AssertionError("unreachable")

    def add_node(self, name: str, *, role: str, internal_ip: str) -> None:
        """Register a node (a control plane or a worker that joined)."""
        if self._server is None or not name:
            return
        obj = node(name, role=role, internal_ip=internal_ip, k3s_version=self.inputs.k3s_version)
        with contextlib.suppress(KubeApiError):
            self._server.state.create(obj)

    def remove_node(self, name: str) -> None:
        """Deregister a node whose server was deleted."""
        if self._server is None:
            return
        with contextlib.suppress(KubeApiError):
            self._server.state.delete("v1", "Node", None, name)

    async def _set_boot_stage(self, stage: str) -> None:
        self.boot_stage = stage
        await self.checkpoint()

    async def _run(self) -> None:
        try:
            if self.boot_stage == "k3s-starting":
                await asyncio.sleep(self.timings.k3s_ready)
                await self._set_boot_stage("kubeconfig-postback")
            if self.boot_stage == "kubeconfig-postback":
                await self._postback()
                await self._set_boot_stage("flux")
            if self._simulator is not None:
                await self._simulator.run()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("sandbox sovereign stopped on an error", deployment_id=self.deployment_id)

    async def _postback(self) -> None:
        """PUT the kubeconfig with the bearer (kept, like cloud-init's copy on the node's
        disk, until the PUT succeeded or the retries ran out; then forgotten)."""
        bearer = self._bearer
        if bearer is None or not bearer.get_secret_value():
            log.warning(
                "sandbox sovereign has no kubeconfig bearer (none given); kubeconfig not sent",
                deployment_id=self.deployment_id,
            )
            self.postback_ok = False
            return
        self.postback_ok = await put_kubeconfig(
            self.http,
            api_url=self.inputs.catalyst_api_url,
            deployment_id=self.deployment_id,
            bearer=bearer,
            kubeconfig=self.kubeconfig_yaml().encode(),
            delay=self.timings.postback_retry_delay,
        )
        self._bearer = None  # the next checkpoint (boot stage `flux`) drops it from the file

    async def stop(self, *, delete: bool = False) -> None:
        """Stop simulating and serving; `delete` also removes the persisted file (the server
        was deleted), otherwise the final state is persisted for the next start."""
        for task in (self._task, self._crossplane):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = self._crossplane = None
        if delete:
            async with self._lock:
                self._deleted = True
                with contextlib.suppress(OSError):
                    await self.files.adelete_sovereign(self.deployment_id)
        elif self._server is not None:
            await self.checkpoint()
        if self._server is not None:
            await self._server.stop()
            self._server = None
