"""Sandbox: stand-ins for the outside world (clusters, clouds) for `make run` and tests."""

__all__: list[str] = []
