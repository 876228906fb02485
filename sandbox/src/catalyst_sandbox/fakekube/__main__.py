"""`python -m catalyst_sandbox.fakekube`: same as `catalyst-api fake-kube`."""

from .cli import fake_kube_main

raise SystemExit(fake_kube_main())
