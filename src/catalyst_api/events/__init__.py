"""Deployment events: the model, the per-deployment streams and their SSE framing.

What: every phase emits `Event`s through an `Emit` callback; `EventHub` numbers them (`seq`),
keeps the replay window, persists them through the store's event log (files or PostgreSQL)
and wakes subscribers.
Usage: `hub.emitter(id)` for producers, `hub.stream(id).subscribe(after_seq)` for readers.
Trade-off: pull-based subscribers (cursor + wake flag) cost a little latency per wake-up but
make lost or duplicated events impossible and slow clients harmless.
"""

from .hub import DeploymentStream, EventHub, StoredEvent, Subscription
from .models import Emit, Event, Level, Progress, rfc3339_now

__all__ = [
    "DeploymentStream",
    "Emit",
    "Event",
    "EventHub",
    "Level",
    "Progress",
    "StoredEvent",
    "Subscription",
    "rfc3339_now",
]
