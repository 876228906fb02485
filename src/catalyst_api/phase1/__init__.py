"""Phase 1: watch the bootstrap kit's Flux HelmReleases on the new Sovereign (spec §8).

What: `HelmWatchRunner` is the `Phase1Runner` the deployment runs call; `HelmReleaseWatcher`
derives per-component states from `bp-*` HelmReleases (list+watch that survives dropped
connections and 410s) and tails helm-controller's log; `LiveWatches` knows which watcher
observes each deployment and serves `refresh-watch` / `components/state`.
Setup: `wiring.build_services` builds `LiveWatches` and the runner with the jobs seeder;
timings come from `Settings` (`CATALYST_PHASE1_*`) and can be overridden per runner.
Trade-off: events are emitted on *state change* only, which makes re-lists and resumed
watches safe (no duplicates) at the price of not reporting message-only updates.
"""

from .blocking import blocked_by, failure_summary, terminally_failed
from .derive import component_id, depends_on, derive_state, level_for, message_for, snapshot_item
from .live import JobsSeeder, LiveWatches, persisted_components
from .logmatch import classify_level, match_line, waiting_state
from .logtail import LogTailTiming
from .runner import HelmWatchRunner, could_not_start_message
from .types import ComponentItem
from .watcher import HelmReleaseWatcher, OutcomeWord, Phase1Outcome, WatchConfig

__all__ = [
    "ComponentItem",
    "HelmReleaseWatcher",
    "HelmWatchRunner",
    "JobsSeeder",
    "LiveWatches",
    "LogTailTiming",
    "OutcomeWord",
    "Phase1Outcome",
    "WatchConfig",
    "blocked_by",
    "classify_level",
    "component_id",
    "could_not_start_message",
    "depends_on",
    "derive_state",
    "failure_summary",
    "level_for",
    "match_line",
    "message_for",
    "persisted_components",
    "snapshot_item",
    "terminally_failed",
    "waiting_state",
]
