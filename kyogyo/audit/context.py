"""Who or what is writing, and through which path: the origin every history row records.

Each entry point says what it is — a page request (``ui``), an API call (``api``), the
admin, the public intake, a command (``cli``), an import, a bulk action, the journey rules,
a scheduled job — with ``origin(path, actor=…, label=…)``; writes below it are recorded with
the innermost path and the nearest actor (rules fired by a person's change keep the person).
The database triggers (``kyogyo/audit/triggers.py``) read the origin: on SQLite through
functions registered on each connection, on PostgreSQL from session settings set here
whenever the origin changes (and on every new connection).

Generating the demo company switches recording off (``origin("demo")``): its records are
invented, not changed, and the bulk and action-by-action demos must stay identical."""

from __future__ import annotations

import contextlib
import contextvars
import functools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

PATHS = ("ui", "api", "admin", "intake", "cli", "import", "bulk", "rule", "job", "system", "demo")
SILENT_PATHS = frozenset({"demo"})
LABEL_LENGTH = 200


@dataclass(frozen=True)
class Origin:
    path: str = "system"
    actor_id: int | None = None
    label: str = ""

    @property
    def recording(self) -> bool:
        return self.path not in SILENT_PATHS


SYSTEM = Origin()  # what writes outside any entry point are recorded as
_current: contextvars.ContextVar[Origin] = contextvars.ContextVar("kyogyo_audit_origin", default=SYSTEM)


def current() -> Origin:
    return _current.get()


@contextlib.contextmanager
def origin(path: str, *, actor: Any = None, label: str = "") -> Iterator[Origin]:
    """Writes inside are recorded as made through ``path`` by ``actor`` (a user or an id;
    the outer actor when none is given)."""
    if path not in PATHS:
        raise ValueError(f"unknown audit path {path!r}; one of {', '.join(PATHS)}")
    outer = _current.get()
    actor_id = _actor_id(actor) if actor is not None else outer.actor_id
    inner = Origin(path, actor_id, label[:LABEL_LENGTH] or (outer.label if path == outer.path else ""))
    token = _current.set(inner)
    try:
        yield inner
    finally:
        _current.reset(token)


def recorded_as(path: str, label: str = "") -> Callable[[F], F]:
    """A function whose writes are recorded as made through ``path``."""

    def decorate(function: F) -> F:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with origin(path, label=label):
                return function(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def relabel(label: str) -> None:
    """Say more about the current origin once it is known (which import run)."""
    _current.set(replace(_current.get(), label=label[:LABEL_LENGTH]))


def set_actor(actor: Any) -> None:
    """Name the actor of the current origin once it is known (an API token's user,
    authenticated inside the request)."""
    _current.set(replace(_current.get(), actor_id=_actor_id(actor)))


def _actor_id(actor: Any) -> int | None:
    if actor is None or isinstance(actor, int):
        return actor
    if not getattr(actor, "is_authenticated", True):
        return None
    return getattr(actor, "pk", None)


# Scheduled and queued jobs (django-q): a worker runs one task at a time.
def on_job_start(sender: Any, func: Any = None, task: Any = None, **kwargs: Any) -> None:
    name = (task or {}).get("name") or getattr(func, "__name__", str(func))
    _current.set(Origin("job", None, str(name)[:LABEL_LENGTH]))


def on_job_end(sender: Any, **kwargs: Any) -> None:
    _current.set(Origin())


# The SQLite side: functions the triggers call, answered from the current origin.
def sqlite_origin(field: str) -> Any:
    now = _current.get()
    if field == "on":
        return 1 if now.recording else 0
    if field == "actor":
        return now.actor_id
    if field == "path":
        return now.path
    if field == "label":
        return now.label
    if field == "at":
        from django.utils import timezone

        return timezone.now().replace(tzinfo=None).isoformat(sep=" ")
    raise ValueError(field)


# The PostgreSQL side: session settings the trigger functions read.
def settings_statement(now: Origin) -> tuple[str, list[str]]:
    values = json.dumps({"actor": now.actor_id, "path": now.path, "label": now.label, "on": now.recording})
    return "SELECT set_config('kyogyo.origin', %s, false)", [values]


WRITES = ("INSERT", "UPDATE", "DELETE", "COPY", "MERGE")


def apply_before_write(connection: Any) -> None:
    """Hand the current origin to PostgreSQL before a write, once per origin and transaction
    state: reads cost nothing extra. A setting made inside a transaction is undone by its
    rollback, so the backend forgets what it applied on every rollback (see below)."""
    if connection.vendor != "postgresql" or connection.connection is None:
        return
    now = _current.get()
    stamp = (now, connection.in_atomic_block, tuple(connection.savepoint_ids))
    if getattr(connection, "_kyogyo_origin", None) == stamp:
        return
    sql, params = settings_statement(now)
    # The raw cursor (not a write, not wrapped again), its errors as Django's: a lost database
    # is an OperationalError to the callers here as for any other query.
    with connection.wrap_database_errors, connection.connection.cursor() as cursor:
        cursor.execute(sql, params)
    connection._kyogyo_origin = stamp


def _before_writes(execute: Any, sql: Any, params: Any, many: bool, context: dict[str, Any]) -> Any:
    if isinstance(sql, str) and sql.lstrip()[:6].upper().startswith(WRITES):
        apply_before_write(context["connection"])
    return execute(sql, params, many, context)


def _forgetting(method: Any, connection: Any) -> Any:
    @functools.wraps(method)
    def rollback(*args: Any, **kwargs: Any) -> Any:
        connection._kyogyo_origin = None
        return method(*args, **kwargs)

    return rollback


def on_connection_created(sender: Any, connection: Any, **kwargs: Any) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_function("kyogyo_origin", 1, sqlite_origin)
        return
    if connection.vendor != "postgresql":
        return
    connection._kyogyo_origin = None  # a new session holds no setting yet
    if _before_writes not in connection.execute_wrappers:
        connection.execute_wrappers.append(_before_writes)
        connection._rollback = _forgetting(connection._rollback, connection)
        connection._savepoint_rollback = _forgetting(connection._savepoint_rollback, connection)
