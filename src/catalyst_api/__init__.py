"""catalyst-api: provisions a Sovereign Kubernetes cluster end to end."""

__version__ = "0.1.0"

__all__ = ["__version__"]
