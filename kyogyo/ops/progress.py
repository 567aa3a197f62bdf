"""Progress lines for long CLI work (to stderr, so JSON on stdout stays clean)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO


def reporter(label: str, *, stream: TextIO | None = None, every: float = 1.0) -> Callable[[int, int], None]:
    """A ``progress(done, total)`` callback printing at most once per ``every`` seconds."""
    out = stream or sys.stderr
    started = time.monotonic()
    last = [0.0]

    def progress(done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] < every and done < total:
            return
        last[0] = now
        percent = f"{100 * done / total:5.1f}%" if total else "     "
        rate = done / (now - started) if now > started else 0.0
        out.write(f"\r{label}: {done:,}/{total:,} {percent} ({rate:,.0f}/s)")
        if done >= total:
            out.write("\n")
        out.flush()

    return progress
