"""The analytics snapshot: a columnar copy of the operational data that DuckDB queries.

``refresh()`` brings it up to date incrementally, ``rebuild()`` starts over,
``open_current()`` gives the current generation to read, ``status()`` says how fresh
it is. See docs/analytics.md."""

from kyogyo.analytics.snapshot.builder import RefreshResult, rebuild, refresh, status
from kyogyo.analytics.snapshot.store import Snapshot, SnapshotError, forget_cached, open_current, snapshot_dir

__all__ = [
    "RefreshResult",
    "Snapshot",
    "SnapshotError",
    "forget_cached",
    "open_current",
    "rebuild",
    "refresh",
    "snapshot_dir",
    "status",
]
