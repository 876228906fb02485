"""Facts shared by the server, the client and the sandbox: the bootstrap kit and the wire shapes.

What: `kit` (components, HelmRelease names, `dependsOn` DAG, Phase 0/1 phase names) and
`shapes` (`TypedDict`s of the JSON the HTTP API sends). Trade-off: this package imports nothing
else from `catalyst_api` (an import-linter contract keeps it so), so the client, which must
work without the server's modules, can use it too.
"""

from . import kit, shapes

__all__ = ["kit", "shapes"]
