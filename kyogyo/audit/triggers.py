"""The history is written by the database itself: a trigger on every tracked table turns each
insert, update and delete into a row of ``audit_change`` — whatever wrote it (the ORM, the
bulk writers' raw ``COPY`` and prepared statements, ``QuerySet.update``, the admin), so no
path can forget to. An update that changes no recorded column writes nothing.

The triggers are generated from the models' current fields and (re)installed after every
``migrate``; ``kyogyo check`` verifies they are all there. ``audit_change`` itself refuses
updates (only an erasure may blank a row's values: see ``kyogyo.audit.history.redact``) and,
on PostgreSQL, deletes."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.db import connection as default_connection

from kyogyo.audit import registry
from kyogyo.audit.context import sqlite_origin

TABLE = "audit_change"
PREFIX = "kyogyo_audit_"


def trigger_names(entry: registry.Tracked) -> list[str]:
    table = entry.model._meta.db_table
    return [f"{PREFIX}{table}_{op}" for op in ("insert", "update", "delete")]


def install(connection: Any = None, **kwargs: Any) -> None:
    db = connection or default_connection
    statements = []
    for entry in registry.tracked():
        statements += _postgres(entry) if db.vendor == "postgresql" else _sqlite(entry)
    statements += _guard_postgres() if db.vendor == "postgresql" else _guard_sqlite()
    with db.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def missing(connection: Any = None) -> list[str]:
    """The triggers that should exist and do not (for ``kyogyo check``)."""
    db = connection or default_connection
    wanted = {name for entry in registry.tracked() for name in trigger_names(entry)}
    with db.cursor() as cursor:
        if db.vendor == "postgresql":
            cursor.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        present = {name for (name,) in cursor.fetchall()}
    guards = {f"{PREFIX}guard_update"} | ({f"{PREFIX}guard_delete"} if db.vendor == "postgresql" else set())
    return sorted((wanted | guards) - present)


def _q(name: str) -> str:
    return default_connection.ops.quote_name(name)


# ---- SQLite ---------------------------------------------------------------------------


def _sqlite_diff(entry: registry.Tracked, old: bool, new: bool, new_row: str = "NEW") -> str:
    rows = []
    for name, column, masked in registry.columns(entry):
        before = f"OLD.{_q(column)}" if old else "NULL"
        after = f"{new_row}.{_q(column)}" if new else "NULL"
        changed = f"({before} IS NOT {after})"
        if masked:
            hidden = f"'{registry.HIDDEN}'"
            before = f"CASE WHEN {before} IS NULL THEN NULL ELSE {hidden} END" if old else "NULL"
            after = f"CASE WHEN {after} IS NULL THEN NULL ELSE {hidden} END" if new else "NULL"
        rows.append(f"SELECT '{name}' AS k, {before} AS o, {after} AS n, {changed} AS c")
    union = " UNION ALL ".join(rows)
    return f"(SELECT json_group_object(k, json_array(o, n)) FROM ({union}) WHERE c)"


def sqlite_insert_recorded(
    raw: Any, entry: registry.Tracked, insert: Callable[[], None], first: int, last: int
) -> None:
    """Run ``insert`` (new rows of ``entry``'s table with ids ``first`` to ``last``) with the
    insert trigger lifted, then write those rows' history in one set-based statement — the
    rows the trigger writes. On SQLite the mere presence of a row trigger doubled the cost of
    each inserted row, and its body doubled it again: most of the 1,000,000-row import's
    database time. Safe because SQLite has one writer: inside this write transaction no
    other connection writes, and a rollback brings the trigger back with everything else."""
    name, create = trigger_names(entry)[0], _sqlite_insert_trigger(entry)
    raw.execute(f"DROP TRIGGER {name}")
    try:
        insert()
    finally:
        raw.execute(create)
    # the origin once for the statement, not four calls back into Python per row
    origin = [sqlite_origin(field) for field in ("at", "actor", "path", "label")]
    raw.execute(_sqlite_created(entry), (*origin, first, last))


@functools.cache
def _sqlite_created(entry: registry.Tracked) -> str:
    table = _q(entry.model._meta.db_table)
    pk = _q(entry.model._meta.pk.column or "id")  # type: ignore[union-attr]
    return (
        f"INSERT INTO {TABLE} (at, model, object_id, operation, changes, actor_id, path, label, redacted) "
        f"SELECT ?, '{entry.label}', created.{pk}, 'create', "
        f"{_sqlite_diff(entry, False, True, new_row='created')}, ?, ?, ?, 0 "
        f"FROM {table} AS created WHERE created.{pk} BETWEEN ? AND ? ORDER BY created.{pk}"
    )


@functools.cache
def _sqlite_insert_trigger(entry: registry.Tracked) -> str:
    return _sqlite(entry)[3]


def _sqlite(entry: registry.Tracked) -> list[str]:
    table = entry.model._meta.db_table
    pk = entry.model._meta.pk.column or "id"  # type: ignore[union-attr]
    insert, update, delete = trigger_names(entry)
    some_change = " OR ".join(f"OLD.{_q(c)} IS NOT NEW.{_q(c)}" for _, c, _ in registry.columns(entry))

    def body(operation: str, row: str, diff: str) -> str:
        return (
            f"INSERT INTO {TABLE} (at, model, object_id, operation, changes, actor_id, path, label, redacted) "
            f"VALUES (kyogyo_origin('at'), '{entry.label}', {row}.{_q(pk)}, '{operation}', {diff}, "
            "kyogyo_origin('actor'), kyogyo_origin('path'), kyogyo_origin('label'), 0);"
        )

    on = "kyogyo_origin('on') = 1"
    return [
        f"DROP TRIGGER IF EXISTS {insert}",
        f"DROP TRIGGER IF EXISTS {update}",
        f"DROP TRIGGER IF EXISTS {delete}",
        f"CREATE TRIGGER {insert} AFTER INSERT ON {_q(table)} WHEN {on} BEGIN "
        f"{body('create', 'NEW', _sqlite_diff(entry, False, True))} END",
        f"CREATE TRIGGER {update} AFTER UPDATE ON {_q(table)} WHEN {on} AND ({some_change}) BEGIN "
        f"{body('update', 'NEW', _sqlite_diff(entry, True, True))} END",
        f"CREATE TRIGGER {delete} AFTER DELETE ON {_q(table)} WHEN {on} BEGIN "
        f"{body('delete', 'OLD', _sqlite_diff(entry, True, False))} END",
    ]


def _guard_sqlite() -> list[str]:
    # An erasure may blank a row's values once (redacted 0 → 1, nothing else changes).
    # Deletes are refused on PostgreSQL only: Django's test flush empties SQLite tables
    # with DELETE (PostgreSQL's with TRUNCATE), as for the transition log.
    return [
        f"DROP TRIGGER IF EXISTS {PREFIX}guard_update",
        f"CREATE TRIGGER {PREFIX}guard_update BEFORE UPDATE ON {TABLE} "
        "WHEN NOT (OLD.redacted = 0 AND NEW.redacted = 1 AND NEW.id = OLD.id AND NEW.at = OLD.at "
        "AND NEW.model = OLD.model AND NEW.object_id = OLD.object_id AND NEW.operation = OLD.operation "
        "AND NEW.actor_id IS OLD.actor_id AND NEW.path = OLD.path AND NEW.label = OLD.label) "
        "BEGIN SELECT RAISE(ABORT, 'the history is append-only'); END",
    ]


# ---- PostgreSQL -----------------------------------------------------------------------


def _pg_diff(entry: registry.Tracked, old: bool, new: bool) -> str:
    """The changed columns of one row as ``{field: [before, after]}`` (NULL when none), over
    ``o`` (the row before) and ``n`` (the row after) of the statement's transition tables."""
    rows = []
    for name, column, masked in registry.columns(entry):
        before = f"to_jsonb(o.{_q(column)})" if old else "NULL::jsonb"
        after = f"to_jsonb(n.{_q(column)})" if new else "NULL::jsonb"
        if old and new:
            changed = f"o.{_q(column)} IS DISTINCT FROM n.{_q(column)}"
        else:  # a created or deleted row: the columns that hold a value (as on SQLite)
            changed = f"{'o' if old else 'n'}.{_q(column)} IS NOT NULL"
        if masked:
            hidden = f"to_jsonb('{registry.HIDDEN}'::text)"
            before = f"CASE WHEN {before} = 'null'::jsonb OR {before} IS NULL THEN NULL ELSE {hidden} END"
            after = f"CASE WHEN {after} = 'null'::jsonb OR {after} IS NULL THEN NULL ELSE {hidden} END"
        rows.append(f"('{name}', {before}, {after}, {changed})")
    values = ", ".join(rows)
    return (
        "(SELECT jsonb_object_agg(k, jsonb_build_array(b, a)) "
        f"FROM (VALUES {values}) AS v(k, b, a, c) WHERE c)"
    )


def _postgres(entry: registry.Tracked) -> list[str]:
    """One statement-level trigger per operation, over the statement's transition tables: a
    ``COPY`` or a bulk ``INSERT`` of thousands of rows writes its history in one set-based
    ``INSERT … SELECT`` instead of a function call per row (which cost the 1,000,000-row import
    about as much as the rest of the database's work)."""
    table = entry.model._meta.db_table
    pk = _q(entry.model._meta.pk.column or "id")  # type: ignore[union-attr]
    insert, update, delete = trigger_names(entry)

    def function(operation: str, source: str, diff: str, row: str, where: str = "") -> str:
        return f"""
CREATE OR REPLACE FUNCTION {PREFIX}{table}_{operation}() RETURNS trigger LANGUAGE plpgsql AS $body$
DECLARE
    origin jsonb := COALESCE(NULLIF(current_setting('kyogyo.origin', true), ''), '{{}}')::jsonb;
BEGIN
    IF COALESCE((origin ->> 'on')::boolean, true) = false THEN
        RETURN NULL;
    END IF;
    INSERT INTO {TABLE} (at, model, object_id, operation, changes, actor_id, path, label, redacted)
    SELECT clock_timestamp(), '{entry.label}', {row}.{pk}::text, '{_OPERATIONS[operation]}',
           COALESCE(d.diff, '{{}}'::jsonb), (origin ->> 'actor')::bigint,
           COALESCE(origin ->> 'path', 'system'), COALESCE(origin ->> 'label', ''), false
    FROM {source} CROSS JOIN LATERAL (SELECT {diff} AS diff) AS d
    {where}
    ORDER BY {row}.{pk};
    RETURN NULL;
END
$body$"""

    def trigger(name: str, operation: str, tables: str) -> str:
        return (
            f"CREATE TRIGGER {name} AFTER {operation.upper()} ON {_q(table)} REFERENCING {tables} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {PREFIX}{table}_{operation}()"
        )

    return [
        # The row-level function of earlier versions (one per table) goes with its triggers.
        f"DROP TRIGGER IF EXISTS {insert} ON {_q(table)}",
        f"DROP TRIGGER IF EXISTS {update} ON {_q(table)}",
        f"DROP TRIGGER IF EXISTS {delete} ON {_q(table)}",
        f"DROP FUNCTION IF EXISTS {PREFIX}{table}()",
        function("insert", "new_rows AS n", _pg_diff(entry, False, True), "n"),
        function(
            "update",
            f"old_rows AS o JOIN new_rows AS n ON n.{pk} = o.{pk}",
            _pg_diff(entry, True, True),
            "n",
            "WHERE d.diff IS NOT NULL",
        ),
        function("delete", "old_rows AS o", _pg_diff(entry, True, False), "o"),
        trigger(insert, "insert", "NEW TABLE AS new_rows"),
        trigger(update, "update", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
        trigger(delete, "delete", "OLD TABLE AS old_rows"),
    ]


_OPERATIONS = {"insert": "create", "update": "update", "delete": "delete"}


def _guard_postgres() -> list[str]:
    return [
        f"""
CREATE OR REPLACE FUNCTION {PREFIX}guard() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF NOT OLD.redacted AND NEW.redacted
           AND (NEW.id, NEW.at, NEW.model, NEW.object_id, NEW.operation, NEW.path, NEW.label)
               = (OLD.id, OLD.at, OLD.model, OLD.object_id, OLD.operation, OLD.path, OLD.label)
           AND NEW.actor_id IS NOT DISTINCT FROM OLD.actor_id THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION 'the history is append-only';
END
$body$""",
        f"DROP TRIGGER IF EXISTS {PREFIX}guard_update ON {TABLE}",
        f"DROP TRIGGER IF EXISTS {PREFIX}guard_delete ON {TABLE}",
        f"CREATE TRIGGER {PREFIX}guard_update BEFORE UPDATE ON {TABLE} FOR EACH ROW EXECUTE FUNCTION {PREFIX}guard()",
        f"CREATE TRIGGER {PREFIX}guard_delete BEFORE DELETE ON {TABLE} FOR EACH ROW EXECUTE FUNCTION {PREFIX}guard()",
    ]
