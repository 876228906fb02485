"""Sandbox: stand-ins for the outside world (clusters, clouds) for `make run` and tests.

`catalyst-api serve --sandbox` (`wiring.sandbox_app`) runs the real pipeline against
in-process stand-ins on loopback: the sandbox cloud (`cloud`, `routes`: Hetzner-like token check
and the resources `infra/sandbox` creates), simulated Sovereigns (`sovereign`: a fake
kube-apiserver over TLS with a persistent CA (`cluster`), the kubeconfig postback
(`postback`) and a Flux simulator (`flux`, `kit`, `manifests`, `helmlog`)), and the fake Dynadot
(`zones`). Their state lives in `<data root>/sandbox/` (`persistence`) and survives restarts.
Also here: the fake kube-apiserver (`fakekube`), the fake Dynadot and pool-domain-manager.
Import the submodules directly; this package imports nothing so `fakekube` stays light.
It is a distribution of its own, `catalyst-api-sandbox` (`sandbox/pyproject.toml`): `make
install` puts it in the development venv, the production image never has it, and
`catalyst-api serve --sandbox` finds it by name (`catalyst_api.cli`).
"""

__all__: list[str] = []
