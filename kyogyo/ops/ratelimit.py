"""Rate limits shared by every server process: a fixed-window counter in the database.

``hit("api:token:12", limit=600, window=60)`` counts one request and says whether it is
within the limit and, if not, how many seconds until the window turns. A fixed window
never lets more than ``limit`` requests through in one window, which is what the limits
promise; one upsert per request (``INSERT … ON CONFLICT … RETURNING``) keeps it atomic
without a lock on SQLite and PostgreSQL alike."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from django.db import connection, transaction

from kyogyo.ops.models import RateCounter

# Counters older than this many windows are of no use; ``sweep`` removes them.
KEEP_WINDOWS = 2


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    retry_after: int  # seconds until the window turns (0 when allowed)


def hit(key: str, *, limit: int, window: int, now: float | None = None) -> Decision:
    """Count one hit of ``key``; ``limit`` hits are allowed per ``window`` seconds."""
    if limit <= 0 or window <= 0:
        raise ValueError("a rate limit needs a positive limit and window")
    now = time.time() if now is None else now
    start = int(now // window) * window
    count = _increment(key[:200], start)
    allowed = count <= limit
    retry_after = 0 if allowed else max(1, math.ceil(start + window - now))
    return Decision(allowed=allowed, limit=limit, remaining=max(0, limit - count), retry_after=retry_after)


def _increment(key: str, window: int) -> int:
    table = connection.ops.quote_name(RateCounter._meta.db_table)
    # Call it before the request's own transaction opens: inside one, the count would roll
    # back with it.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (key, window_start, count) VALUES (%s, %s, 1) "
            f"ON CONFLICT (key, window_start) DO UPDATE SET count = {table}.count + 1 RETURNING count",
            [key, window],
        )
        return int(cursor.fetchone()[0])


def sweep(*, now: float | None = None, max_window: int = 3600) -> int:
    """Delete counters of windows long past (run by the worker)."""
    now = time.time() if now is None else now
    deleted, _ = RateCounter.objects.filter(window_start__lt=now - KEEP_WINDOWS * max_window).delete()
    return deleted


def peek(key: str, *, limit: int, window: int, now: float | None = None) -> Decision:
    """Where ``key`` stands in the current window, without counting a hit."""
    now = time.time() if now is None else now
    start = int(now // window) * window
    row = (
        RateCounter.objects.filter(key=key[:200], window_start=start).values_list("count", flat=True).first()
    )
    count = row or 0
    allowed = count < limit
    retry_after = 0 if allowed else max(1, math.ceil(start + window - now))
    return Decision(allowed=allowed, limit=limit, remaining=max(0, limit - count), retry_after=retry_after)
