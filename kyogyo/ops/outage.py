"""A database that goes away in the middle of a command (restarted, crashed, the network cut)
ends the command with one line saying so and what to do next — never a traceback. What the
command committed before stays; the work it was doing is safe to run again."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import psycopg
from django.core.management.base import CommandError
from django.db import InterfaceError, OperationalError

#: Django's wrapped errors, and psycopg's own from code that uses the driver directly (COPY)
LOST = (OperationalError, InterfaceError, psycopg.OperationalError, psycopg.InterfaceError)


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@contextlib.contextmanager
def said_plainly(then: str) -> Iterator[None]:
    """Turn a lost or refused database connection into a ``CommandError`` ending with ``then``
    (e.g. "run the same command again to resume")."""
    try:
        yield
    except LOST as exc:
        raise CommandError(f"database_unavailable: the database failed ({first_line(exc)}); {then}") from None
