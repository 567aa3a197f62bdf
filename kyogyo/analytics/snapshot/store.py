"""Where the snapshot lives and how it is read.

The snapshot is a DuckDB file per *generation* (``gen-000042.duckdb``) in the snapshot
directory, and a ``manifest.json`` naming the current one. A refresh copies the current
file, applies the changes to the copy, and then replaces the manifest atomically, so a
reader always opens one complete generation — never a file being written. Old
generations are removed two refreshes later; a reader that still has one open keeps
reading it (the file stays readable until closed).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import duckdb
from django.conf import settings

MANIFEST = "manifest.json"
# What a generation remembers (report results, measured percentiles) is bounded: the least
# recently used entries are dropped beyond this many, or beyond this many bytes of kept
# ``bytes`` values (report results are kept pickled). Only two generations are kept open.
MEMO_ENTRIES = 256
MEMO_BYTES = 64 * 1024 * 1024
T = TypeVar("T")


class SnapshotError(RuntimeError):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass
class Manifest:
    generation: int
    file: str
    schema_version: int
    time_zone: str
    stages: list[str]
    built_at: str
    refreshed_at: str
    # the operational data read up to: max id per id-streamed table, and the change log
    watermarks: dict[str, int] = field(default_factory=dict)
    # ids at or below a watermark that were missing when read (a transaction may still
    # have been open): re-read on later refreshes until found or expired. [id, seen_at]
    gaps: dict[str, list[list[float]]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    last: dict[str, Any] = field(default_factory=dict)
    # the waterfall's path the ``entries`` table was derived with: [[stage, next stage], …]
    path: list[list[str | None]] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: dict) -> Manifest:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


def snapshot_dir() -> Path:
    return Path(settings.KYOGYO_SNAPSHOT_DIR)


def read_manifest(directory: Path | None = None) -> Manifest | None:
    path = (directory or snapshot_dir()) / MANIFEST
    try:
        return Manifest.from_json(json.loads(path.read_text()))
    except FileNotFoundError:
        return None
    except (ValueError, TypeError) as exc:
        raise SnapshotError(
            "manifest_unreadable",
            f"{path} is not a valid snapshot manifest ({exc}); run `kyogyo snapshot rebuild`",
        ) from exc


def write_manifest(manifest: Manifest, directory: Path | None = None) -> None:
    """Replace the manifest atomically: a reader sees the old one or the new one."""
    directory = directory or snapshot_dir()
    tmp = directory / f".{MANIFEST}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(asdict(manifest), indent=1))
    os.replace(tmp, directory / MANIFEST)


@contextlib.contextmanager
def refresh_lock(wait_seconds: float = 60.0) -> Iterator[None]:
    """One refresh at a time per snapshot directory (across processes)."""
    directory = snapshot_dir()
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "w") as handle:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise SnapshotError(
                        "busy", "another snapshot refresh is running; try again when it has finished"
                    ) from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def parse_time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


class Snapshot:
    """One generation, open read-only. ``query`` is safe from several threads."""

    def __init__(self, manifest: Manifest, connection: duckdb.DuckDBPyConnection):
        self.manifest = manifest
        self._connection = connection
        self._memo: OrderedDict[Any, Any] = OrderedDict()
        self._memo_bytes = 0
        self._pending: dict[Any, Future] = {}
        self._memo_lock = threading.Lock()

    def close(self) -> None:
        self._connection.close()

    def cursor(self) -> duckdb.DuckDBPyConnection:
        return self._connection.cursor()

    def query(self, sql: str, params: list | dict | None = None) -> list[tuple]:
        cursor = self.cursor()
        try:
            return cursor.execute(sql, params or []).fetchall()
        finally:
            cursor.close()

    def query_dicts(self, sql: str, params: list | dict | None = None) -> list[dict]:
        cursor = self.cursor()
        try:
            result = cursor.execute(sql, params or [])
            names = [d[0] for d in result.description]
            return [dict(zip(names, row, strict=True)) for row in result.fetchall()]
        finally:
            cursor.close()

    def memo(self, key: Any, compute: Callable[[], T]) -> T:
        """``compute()`` once per generation: a generation never changes, so what is derived
        from it alone (report results, measured percentiles) can be kept while it is open.
        At most ``MEMO_ENTRIES`` values and ``MEMO_BYTES`` of ``bytes`` values are kept, the
        least recently used dropped first.

        ``compute`` runs outside the lock, so one slow report never holds up the others; a
        thread asking what another is computing waits for that answer (or its error) instead
        of computing it again — after a refresh, many readers of one page cost one computation."""
        with self._memo_lock:
            if key in self._memo:
                self._memo.move_to_end(key)
                return self._memo[key]
            pending = self._pending.get(key)
            computing = pending is None
            if pending is None:
                pending = self._pending[key] = Future()
        if not computing:
            return pending.result()
        try:
            value = compute()
        except BaseException as exc:
            with self._memo_lock:
                self._pending.pop(key, None)
            pending.set_exception(exc)
            raise
        with self._memo_lock:
            self._forget(key)
            self._memo[key] = value
            self._memo_bytes += _size(value)
            while len(self._memo) > 1 and (len(self._memo) > MEMO_ENTRIES or self._memo_bytes > MEMO_BYTES):
                self._forget(next(iter(self._memo)))
            self._pending.pop(key, None)
        pending.set_result(value)
        return value

    def _forget(self, key: Any) -> None:
        if key in self._memo:
            self._memo_bytes -= _size(self._memo.pop(key))

    @property
    def time_zone(self) -> str:
        return self.manifest.time_zone

    def freshness(self, now: dt.datetime | None = None) -> dict[str, Any]:
        refreshed = parse_time(self.manifest.refreshed_at)
        now = now or dt.datetime.now(dt.UTC)
        return {
            "generation": self.manifest.generation,
            "refreshed_at": self.manifest.refreshed_at,
            "age_seconds": max(0, round((now - refreshed).total_seconds())),
        }


def _size(value: Any) -> int:
    return len(value) if isinstance(value, bytes) else 0


_cache_lock = threading.Lock()
_cache: dict[Path, Snapshot] = {}


def open_current(directory: Path | None = None) -> Snapshot | None:
    """The current generation (opened once per process and generation), or None."""
    directory = directory or snapshot_dir()
    manifest = read_manifest(directory)
    if manifest is None:
        return None
    path = directory / manifest.file
    with _cache_lock:
        cached = _cache.get(path)
        # the same file name with another manifest is another generation (a rebuild after the
        # directory was emptied starts again at 1): never answer from the old one's memo
        if cached is not None and cached.manifest == manifest:
            return cached
        if cached is not None:  # its file was replaced: DuckDB would hand back the old database
            _cache.pop(path).close()
        try:
            connection = duckdb.connect(str(path), read_only=True)
        except duckdb.IOException as exc:
            raise SnapshotError(
                "snapshot_missing", f"{path} cannot be opened ({exc}); run `kyogyo snapshot rebuild`"
            ) from exc
        snapshot = Snapshot(manifest, connection)
        # keep the previous generation open for readers still using it; drop older ones
        for old_path in [p for p in _cache if p.parent == directory][:-1]:
            _cache.pop(old_path)
        _cache[path] = snapshot
        return snapshot


def forget_cached() -> None:
    """Close every cached generation (tests, and after a snapshot directory is removed)."""
    with _cache_lock:
        _cache.clear()
