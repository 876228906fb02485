"""The HTTP layer: one router module per surface, error mapping, middleware.

Routers are thin: they parse the request, call a service from `request.state.services`, and
shape the response. This is the only package (with `app.py`) that imports FastAPI/Starlette.
"""

from .errors import install_error_handlers
from .middleware import AccessLogMiddleware, CorsMiddleware
from .routers import ROUTERS

__all__ = ["ROUTERS", "AccessLogMiddleware", "CorsMiddleware", "install_error_handlers"]
