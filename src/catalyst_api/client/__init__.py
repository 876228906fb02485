"""Command-line client of catalyst-api: `catalyst-api deployments create|list|get|logs|…`.

What: a small typed httpx client (`ApiClient`), an SSE follower that resumes a dropped stream
with `Last-Event-ID` (`follow_log`), and two outputs: a live rich view (phases with progress
bars, bootstrap-kit component table) on a terminal, plain one-line-per-event text otherwise.
Usage: `deployments_main(argv)` (the top-level CLI dispatches to it), or `ApiClient` directly.
Trade-off: the client is synchronous (one stream at a time is all a CLI needs) and depends only
on the wire contract, not on server modules, so it works against the original service too.
"""

from .api import DEFAULT_API_URL, ApiClient, ApiError, ClientError, StreamInterrupted, Unreachable
from .cli import deployments_main
from .sse import Backoff, SseFrame, StreamLost, follow_log, parse_frames
from .view import RunView

__all__ = [
    "DEFAULT_API_URL",
    "ApiClient",
    "ApiError",
    "Backoff",
    "ClientError",
    "RunView",
    "SseFrame",
    "StreamInterrupted",
    "StreamLost",
    "Unreachable",
    "deployments_main",
    "follow_log",
    "parse_frames",
]
