"""Build and refresh the snapshot from the operational database.

A refresh reads only what changed since the last one: rows with ids above each table's
watermark (plus ids that were missing last time, see ``Manifest.gaps``), rows the
change-capture triggers recorded as updated or deleted, and the people those touch.
Rows written while a refresh runs are above its watermarks and are taken by the next
one. A rebuild reads everything into a new generation.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from django.conf import settings
from django.db import connection

from kyogyo.analytics.models import SnapshotChange
from kyogyo.analytics.path import path_pairs
from kyogyo.analytics.snapshot import schema
from kyogyo.analytics.snapshot.schema import Table
from kyogyo.analytics.snapshot.store import (
    Manifest,
    SnapshotError,
    read_manifest,
    refresh_lock,
    snapshot_dir,
    write_manifest,
)

FETCH_ROWS = 100_000
ID_CHUNK = 2_000
GAP_WINDOW = 10_000  # only ids this close below the newest are checked for gaps
GAP_TTL_SECONDS = 600  # a missing id not seen within this long was rolled back

Progress = Callable[[str], None]


@dataclass
class RefreshResult:
    kind: str  # "rebuild" or "refresh"
    generation: int
    seconds: float
    changed: dict[str, int] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "generation": self.generation,
            "seconds": round(self.seconds, 3),
            "changed": self.changed,
            "counts": self.counts,
            "reason": self.reason,
        }


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _stage_rows() -> list[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute('SELECT key, category FROM journey_stage ORDER BY "order", key')
        return [(row[0], row[1]) for row in cursor.fetchall()]


def _stage_keys() -> list[str]:
    return [key for key, _ in _stage_rows()]


def _path() -> list[list[str | None]]:
    return [[key, nxt] for key, nxt in path_pairs(_stage_rows())]


ENTRY_DIMENSIONS = [
    "account_id",
    "segment",
    "industry",
    "country",
    "source",
    "owner_id",
    "owner_team",
    "employee_count",
    "created_at",
]


def _derive_entries(
    duck: duckdb.DuckDBPyConnection,
    stages: list[str],
    path: list[list[str | None]],
    only: Iterable[int] | None = None,
) -> None:
    """``entries``: one row per person and stage reached (first entry ``f``, its month ``ym``,
    days to the next stage on the path when reached at or after ``f``, number of entries
    ``n``) with the person's dimensions, clustered by stage so a stage's rows are read
    without the others'. The waterfall reads it in one pass; ``subjects`` stays the wide
    source of truth."""
    nexts = {key: nxt for key, nxt in path}
    duck.execute(
        "CREATE TABLE IF NOT EXISTS entries (subject_id BIGINT, stage VARCHAR, f TIMESTAMP, ym INTEGER, "
        "days_to_next DOUBLE, n INTEGER, account_id BIGINT, segment VARCHAR, industry VARCHAR, "
        "country VARCHAR, source VARCHAR, owner_id BIGINT, owner_team VARCHAR, employee_count INTEGER, "
        "created_at TIMESTAMP)"
    )
    subset = ""
    params: list[Any] = []
    if only is not None:
        subset = "AND subject_id IN (SELECT unnest(?))"
    parts = []
    for key in stages:
        f = f'"f_{key}"'
        nxt = nexts.get(key)
        days = (
            f'CASE WHEN "f_{nxt}" >= {f} THEN date_diff(\'second\', {f}, "f_{nxt}") / 86400.0 END'
            if nxt
            else "NULL::DOUBLE"
        )
        parts.append(
            f"SELECT subject_id, '{key}' AS stage, {f} AS f, (year({f}) * 100 + month({f}))::INTEGER AS ym, "
            f'{days} AS days_to_next, "n_{key}" AS n, {", ".join(ENTRY_DIMENSIONS)} '
            f"FROM subjects WHERE {f} IS NOT NULL {subset}"
        )
        if only is not None:
            params.append(sorted(only))
    duck.execute(f"INSERT INTO entries {' UNION ALL '.join(parts)} ORDER BY stage, f", params)


def _db_table(table: Table) -> str:
    return table.source.split()[0]


def _key_column(table: Table) -> str:
    return table.key


def _max_id(table: Table) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MAX({table.key.split('.')[-1]}) FROM {_db_table(table)}")
        return int(cursor.fetchone()[0] or 0)


def _max_change_id() -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MAX(id) FROM {SnapshotChange._meta.db_table}")
        return int(cursor.fetchone()[0] or 0)


# --- reading from the operational database into DuckDB staging tables -------------


def _staging(table: Table) -> str:
    return f"_in_{table.name}"


def _create_staging(duck: duckdb.DuckDBPyConnection, table: Table) -> None:
    raw_type = {"ts": "BIGINT", "date": "VARCHAR", "bool": "BOOLEAN"}
    columns = ", ".join(f'"{n}" {raw_type.get(kind, t)}' for n, t, kind in table.columns)
    duck.execute(f"CREATE OR REPLACE TEMP TABLE {_staging(table)} ({columns})")


def _arrow_type(column: schema.Column) -> pa.DataType:
    _, duck_type, kind = column
    if kind == "ts" or duck_type in ("BIGINT", "INTEGER"):
        return pa.int64()
    if kind == "bool" or duck_type == "BOOLEAN":
        return pa.bool_()
    if duck_type == "DOUBLE":
        return pa.float64()
    return pa.string()


def _copy_rows(
    duck: duckdb.DuckDBPyConnection, table: Table, where: str = "", params: Sequence[Any] = ()
) -> int:
    """Stream the table's rows matching ``where`` into its staging table."""
    sql = schema.render(table, connection.vendor)
    if where:
        sql += f" WHERE {where}"
    before = duck.execute(f"SELECT count(*) FROM {_staging(table)}").fetchall()[0][0]
    if connection.vendor == "postgresql":
        _copy_rows_postgres(duck, table, sql, params)
    else:
        _copy_rows_cursor(duck, table, sql, params)
    return duck.execute(f"SELECT count(*) FROM {_staging(table)}").fetchall()[0][0] - before


def _copy_rows_cursor(duck: duckdb.DuckDBPyConnection, table: Table, sql: str, params: Sequence[Any]) -> None:
    """Any database: fetch in batches, hand each to DuckDB as an Arrow table."""
    types = [_arrow_type(c) for c in table.columns]
    names = table.column_names
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, list(params))
        while rows := cursor.fetchmany(FETCH_ROWS):
            columns = list(zip(*rows, strict=True))
            batch = pa.table(
                [pa.array(col, type=typ) for col, typ in zip(columns, types, strict=True)], names=names
            )
            duck.register("_batch", batch)
            duck.execute(f"INSERT INTO {_staging(table)} SELECT * FROM _batch")
            duck.unregister("_batch")


def _copy_rows_postgres(
    duck: duckdb.DuckDBPyConnection, table: Table, sql: str, params: Sequence[Any]
) -> None:
    """PostgreSQL: ``COPY … TO STDOUT`` as CSV into a scratch file that DuckDB's parallel CSV
    reader loads — several times faster than fetching rows through the driver."""
    raw_type = {"ts": "BIGINT", "date": "VARCHAR", "bool": "BOOLEAN"}
    columns = {name: raw_type.get(kind, duck_type) for name, duck_type, kind in table.columns}
    connection.ensure_connection()
    with tempfile.NamedTemporaryFile(
        dir=snapshot_dir(), prefix=f".copy-{table.name}-", suffix=".csv", delete=False
    ) as handle:
        scratch = Path(handle.name)
        with (
            connection.connection.cursor() as cursor,
            cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)", list(params) or None) as copy,
        ):
            for block in copy:
                handle.write(block)
    try:
        if scratch.stat().st_size:
            # empty unquoted fields are NULL, quoted ones ("") empty strings, as PostgreSQL wrote them
            duck.execute(
                f"INSERT INTO {_staging(table)} SELECT * FROM read_csv(?, header = false, columns = ?, "
                "allow_quoted_nulls = false, quote = '\"', escape = '\"')",
                [str(scratch), columns],
            )
    finally:
        scratch.unlink(missing_ok=True)


def _copy_ids(duck: duckdb.DuckDBPyConnection, table: Table, ids: Iterable[int]) -> int:
    ordered = sorted(set(ids))
    copied = 0
    for start in range(0, len(ordered), ID_CHUNK):
        chunk = ordered[start : start + ID_CHUNK]
        marks = ", ".join(["%s"] * len(chunk))
        copied += _copy_rows(duck, table, f"{table.key} IN ({marks})", chunk)
    return copied


def _copy_range(duck: duckdb.DuckDBPyConnection, table: Table, above: int, upto: int) -> int:
    return _copy_rows(duck, table, f"{table.key} > %s AND {table.key} <= %s", [above, upto])


# --- shaping staging rows into the stored tables ------------------------------------


def _stored_select(table: Table, tz: str, stages: list[str]) -> str:
    if table.name == "activity_days":
        return (
            'SELECT contact_id, CAST(timezone(?, to_timestamp("at")) AS DATE) AS day, type, '
            "campaign_id, source, count(*)::BIGINT AS n FROM {staging} GROUP BY ALL"
        ).replace("?", f"'{tz}'")
    if table.name == "subjects":
        plain = [
            schema.duck_expression(c, tz) for c in table.columns if c[0] not in ("first_entered", "entries")
        ]
        wide = []
        for key in stages:
            path = f'$."{key}"'
            wide.append(
                f"timezone('{tz}', CAST(json_extract_string(first_entered, '{path}') AS TIMESTAMPTZ))"
                f'::TIMESTAMP AS "f_{key}"'
            )
            wide.append(f"COALESCE(CAST(json_extract(entries, '{path}') AS INTEGER), 0) AS \"n_{key}\"")
        return f"SELECT {', '.join(plain + wide)} FROM {{staging}}"
    return f"SELECT {', '.join(schema.duck_expression(c, tz) for c in table.columns)} FROM {{staging}}"


def _create_stored(duck: duckdb.DuckDBPyConnection, table: Table, tz: str, stages: list[str]) -> None:
    _create_staging(duck, table)
    select = _stored_select(table, tz, stages).format(staging=_staging(table))
    duck.execute(f"CREATE TABLE {table.name} AS {select} LIMIT 0")


def _store(duck: duckdb.DuckDBPyConnection, table: Table, tz: str, stages: list[str]) -> None:
    select = _stored_select(table, tz, stages).format(staging=_staging(table))
    duck.execute(f"INSERT INTO {table.name} {select}")
    duck.execute(f"DELETE FROM {_staging(table)}")


ALL_TABLES: list[Table] = [
    schema.SUBJECTS,
    *schema.APPEND_TABLES,
    *schema.UPSERT_TABLES,
    *schema.FULL_TABLES,
]
ID_STREAMED: list[Table] = [*schema.APPEND_TABLES, *schema.UPSERT_TABLES]


def _counts(duck: duckdb.DuckDBPyConnection) -> dict[str, int]:
    names = [t.name for t in ALL_TABLES] + ["entries"]
    return {name: duck.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0] for name in names}


def _record_gaps(
    duck: duckdb.DuckDBPyConnection,
    table: Table,
    above: int,
    upto: int,
    previous: list[list[float]],
    seen_now: float,
) -> list[list[float]]:
    """Ids in (above, upto] not in the staging table, plus earlier gaps still missing."""
    key = table.column_names[0]
    still = [g for g in previous if seen_now - g[1] < GAP_TTL_SECONDS]
    if upto <= above:
        return still
    low = max(above, upto - GAP_WINDOW)
    missing = duck.execute(
        f"SELECT range FROM range(?, ?) EXCEPT SELECT {key} FROM {_staging(table)} ORDER BY 1",
        [low + 1, upto + 1],
    ).fetchall()
    return still + [[int(r[0]), seen_now] for r in missing]


# --- rebuild and refresh ----------------------------------------------------------


def rebuild(
    *, progress: Progress | None = None, reason: str = "requested", wait_seconds: float = 60.0
) -> RefreshResult:
    with refresh_lock(wait_seconds):
        return _rebuild(read_manifest(), progress or (lambda _m: None), reason)


def refresh(*, progress: Progress | None = None, wait_seconds: float = 60.0) -> RefreshResult:
    """Bring the snapshot up to date; a rebuild when there is none yet or it cannot be
    updated in place (new stages, another schema or time zone, data removed). Waits up to
    ``wait_seconds`` for a refresh already running, then raises ``SnapshotError("busy")``."""
    say = progress or (lambda _m: None)
    with refresh_lock(wait_seconds):
        manifest = read_manifest()
        why = _rebuild_reason(manifest)
        if why:
            return _rebuild(manifest, say, why)
        assert manifest is not None
        return _refresh(manifest, say)


def _rebuild_reason(manifest: Manifest | None) -> str:
    if manifest is None:
        return "no snapshot yet"
    if not (snapshot_dir() / manifest.file).exists():
        return "the snapshot file is missing"
    if manifest.schema_version != schema.SCHEMA_VERSION:
        return "the snapshot's format changed"
    if manifest.time_zone != settings.TIME_ZONE:
        return "the company time zone changed"
    if manifest.stages != _stage_keys():
        return "the stage model changed"
    if manifest.path != _path():
        return "the waterfall path changed (stage categories or order)"
    for table in ID_STREAMED:
        if _max_id(table) < manifest.watermarks.get(table.name, 0):
            return f"rows were removed from {table.name}"
    return ""


def _new_file(directory: Path, generation: int) -> Path:
    return directory / f"gen-{generation:06d}.duckdb"


def _rebuild(previous: Manifest | None, say: Progress, reason: str) -> RefreshResult:
    started = time.perf_counter()
    directory = snapshot_dir()
    directory.mkdir(parents=True, exist_ok=True)
    generation = (previous.generation if previous else 0) + 1
    tz = settings.TIME_ZONE
    stages = _stage_keys()
    path = _path()
    change_upto = _max_change_id()
    uppers = {t.name: _max_id(t) for t in ID_STREAMED}
    target = _new_file(directory, generation)
    tmp = target.with_suffix(".building")
    tmp.unlink(missing_ok=True)
    duck = duckdb.connect(str(tmp))
    try:
        for table in ALL_TABLES:
            _create_stored(duck, table, tz, stages)
        seen = time.time()
        gaps: dict[str, list[list[float]]] = {}
        for table in ID_STREAMED:
            say(f"reading {table.name} …")
            _copy_range(duck, table, 0, uppers[table.name])
            gaps[table.name] = _record_gaps(duck, table, 0, uppers[table.name], [], seen)
            _store(duck, table, tz, stages)
        say("reading people …")
        _copy_rows(duck, schema.SUBJECTS)
        _store(duck, schema.SUBJECTS, tz, stages)
        _derive_entries(duck, stages, path)
        for table in schema.FULL_TABLES:
            _copy_rows(duck, table)
            _store(duck, table, tz, stages)
        _index(duck)
        counts = _counts(duck)
        duck.execute("CHECKPOINT")
    finally:
        duck.close()
    tmp.replace(target)
    now = _now().isoformat()
    seconds = time.perf_counter() - started
    manifest = Manifest(
        generation=generation,
        file=target.name,
        schema_version=schema.SCHEMA_VERSION,
        time_zone=tz,
        stages=stages,
        path=path,
        built_at=now,
        refreshed_at=now,
        watermarks={**uppers, "changes": change_upto},
        gaps=gaps,
        counts=counts,
        last={"kind": "rebuild", "seconds": round(seconds, 3), "reason": reason},
    )
    write_manifest(manifest)
    _forget_changes(change_upto)
    _remove_old_generations(directory, keep={target.name, previous.file if previous else ""})
    return RefreshResult("rebuild", generation, seconds, counts=counts, reason=reason)


def _index(duck: duckdb.DuckDBPyConnection) -> None:
    """ART indexes speed up the incremental deletes by id (the scans don't need them)."""
    for table in [*schema.UPSERT_TABLES, schema.TRANSITIONS, schema.MRR_CHANGES]:
        duck.execute(f"CREATE INDEX IF NOT EXISTS {table.name}_id ON {table.name} (id)")
    duck.execute("CREATE INDEX IF NOT EXISTS subjects_id ON subjects (subject_id)")


def _read_changes(manifest: Manifest, upto: int) -> tuple[dict[str, set[int]], list[list[float]]]:
    """Rows the triggers recorded since the last refresh (and earlier gaps now visible)."""
    above = manifest.watermarks.get("changes", 0)
    gap_ids = [int(g[0]) for g in manifest.gaps.get("changes", [])]
    changed: dict[str, set[int]] = {}
    seen_ids: set[int] = set()
    with connection.cursor() as cursor:
        table = SnapshotChange._meta.db_table
        cursor.execute(f'SELECT id, "table", row_id FROM {table} WHERE id > %s AND id <= %s', [above, upto])
        rows = list(cursor.fetchall())
        for start in range(0, len(gap_ids), ID_CHUNK):
            chunk = gap_ids[start : start + ID_CHUNK]
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(f'SELECT id, "table", row_id FROM {table} WHERE id IN ({marks})', chunk)
            rows.extend(cursor.fetchall())
    for change_id, name, row_id in rows:
        seen_ids.add(int(change_id))
        changed.setdefault(name, set()).add(int(row_id))
    now = time.time()
    gaps = [
        g
        for g in manifest.gaps.get("changes", [])
        if int(g[0]) not in seen_ids and now - g[1] < GAP_TTL_SECONDS
    ]
    low = max(above, upto - GAP_WINDOW)
    gaps += [[i, now] for i in range(low + 1, upto + 1) if i not in seen_ids]
    return changed, gaps


def _refresh(manifest: Manifest, say: Progress) -> RefreshResult:
    started = time.perf_counter()
    directory = snapshot_dir()
    tz = settings.TIME_ZONE
    stages = manifest.stages
    generation = manifest.generation + 1
    change_upto = _max_change_id()
    uppers = {t.name: _max_id(t) for t in ID_STREAMED}
    changes, change_gaps = _read_changes(manifest, change_upto)
    target = _new_file(directory, generation)
    tmp = target.with_suffix(".building")
    shutil.copyfile(directory / manifest.file, tmp)
    duck = duckdb.connect(str(tmp))
    changed: dict[str, int] = {}
    gaps: dict[str, list[list[float]]] = {"changes": change_gaps}
    seen = time.time()
    try:
        for table in [*ID_STREAMED, schema.SUBJECTS]:
            _create_staging(duck, table)
        touched_subjects: set[int] = set()
        for table in ID_STREAMED:
            above, upto = manifest.watermarks.get(table.name, 0), uppers[table.name]
            previous_gaps = manifest.gaps.get(table.name, [])
            n = _copy_range(duck, table, above, upto)
            gaps[table.name] = _record_gaps(duck, table, above, upto, [], seen)
            if previous_gaps:
                n += _copy_ids(duck, table, [int(g[0]) for g in previous_gaps])
                found = _staged_keys(duck, table)
                gaps[table.name] += [
                    g for g in previous_gaps if int(g[0]) not in found and seen - g[1] < GAP_TTL_SECONDS
                ]
            if table.kind == "upsert" and changes.get(table.change_table):
                n += _copy_ids(duck, table, changes[table.change_table])
                # a row both new and changed since the last refresh was read twice
                staging = _staging(table)
                duck.execute(f"CREATE OR REPLACE TEMP TABLE {staging} AS SELECT DISTINCT * FROM {staging}")
            if table is schema.TRANSITIONS:
                touched_subjects |= {
                    r[0]
                    for r in duck.execute(f"SELECT DISTINCT subject_id FROM {_staging(table)}").fetchall()
                }
            if table.kind == "upsert":
                _delete_replaced(duck, table, changes.get(table.change_table, set()))
            elif table is not schema.ACTIVITIES:
                duck.execute(f"DELETE FROM {table.name} WHERE id IN (SELECT id FROM {_staging(table)})")
            changed[table.name] = n
            _store(duck, table, tz, stages)
        touched_subjects |= changes.get("contact", set())
        if changes.get("account"):
            accounts = sorted(changes["account"])
            touched_subjects |= {
                r[0]
                for r in duck.execute(
                    "SELECT subject_id FROM subjects WHERE account_id IN (SELECT unnest(?))", [accounts]
                ).fetchall()
            }
        if touched_subjects:
            say(f"re-reading {len(touched_subjects):,} people …")
            _copy_ids(duck, schema.SUBJECTS, touched_subjects)
            staged = _staged_keys(duck, schema.SUBJECTS)
            gone = sorted(touched_subjects - staged)
            duck.execute(
                "DELETE FROM subjects WHERE subject_id IN (SELECT unnest(?))", [sorted(touched_subjects)]
            )
            if gone:
                _forget_subjects(duck, gone)
            _store(duck, schema.SUBJECTS, tz, stages)
            _refresh_entries(duck, stages, manifest.path, touched_subjects)
        changed["subjects"] = len(touched_subjects)
        for table in schema.FULL_TABLES:
            duck.execute(f"DELETE FROM {table.name}")
            _create_staging(duck, table)
            _copy_rows(duck, table)
            _store(duck, table, tz, stages)
        counts = _counts(duck)
        duck.execute("CHECKPOINT")
    finally:
        duck.close()
    tmp.replace(target)
    seconds = time.perf_counter() - started
    new = Manifest(
        generation=generation,
        file=target.name,
        schema_version=manifest.schema_version,
        time_zone=tz,
        stages=stages,
        path=manifest.path,
        built_at=manifest.built_at,
        refreshed_at=_now().isoformat(),
        watermarks={**uppers, "changes": change_upto},
        gaps=gaps,
        counts=counts,
        last={"kind": "refresh", "seconds": round(seconds, 3), "changed": changed},
    )
    write_manifest(new)
    _forget_changes(change_upto)
    _remove_old_generations(directory, keep={target.name, manifest.file})
    return RefreshResult("refresh", generation, seconds, changed=changed, counts=counts)


def _refresh_entries(
    duck: duckdb.DuckDBPyConnection, stages: list[str], path: list[list[str | None]], touched: set[int]
) -> None:
    """Re-derive the touched people's entries; when many changed, all of them (re-clustered)."""
    total = duck.execute("SELECT count(*) FROM subjects").fetchall()[0][0]
    if len(touched) > total * 0.05:
        duck.execute("DELETE FROM entries")
        _derive_entries(duck, stages, path)
        return
    duck.execute("DELETE FROM entries WHERE subject_id IN (SELECT unnest(?))", [sorted(touched)])
    _derive_entries(duck, stages, path, touched)


def _staged_keys(duck: duckdb.DuckDBPyConnection, table: Table) -> set[int]:
    key = table.column_names[0]
    return {int(r[0]) for r in duck.execute(f"SELECT {key} FROM {_staging(table)}").fetchall()}


def _delete_replaced(duck: duckdb.DuckDBPyConnection, table: Table, changed_ids: set[int]) -> None:
    """Drop stored rows that are re-read (their new version is staged) or were deleted."""
    duck.execute(f"DELETE FROM {table.name} WHERE id IN (SELECT id FROM {_staging(table)})")
    if changed_ids:
        duck.execute(f"DELETE FROM {table.name} WHERE id IN (SELECT unnest(?))", [sorted(changed_ids)])


def _forget_subjects(duck: duckdb.DuckDBPyConnection, subject_ids: list[int]) -> None:
    """People removed from the operational database leave no trace in the snapshot."""
    for name, column in (
        ("transitions", "subject_id"),
        ("handoffs", "subject_id"),
        ("activity_days", "contact_id"),
        ("nps", "contact_id"),
    ):
        duck.execute(f"DELETE FROM {name} WHERE {column} IN (SELECT unnest(?))", [subject_ids])


def _forget_changes(upto: int) -> None:
    SnapshotChange.objects.filter(id__lte=upto).delete()


def _remove_old_generations(directory: Path, keep: set[str]) -> None:
    for path in directory.glob("gen-*.duckdb"):
        if path.name not in keep:
            path.unlink(missing_ok=True)
    for path in directory.glob("gen-*.building"):
        if path.with_suffix(".duckdb").name not in keep:
            path.unlink(missing_ok=True)


def status() -> dict[str, Any]:
    manifest = read_manifest()
    if manifest is None:
        return {"exists": False, "message": "no snapshot yet: run `kyogyo snapshot refresh`"}
    pending = {t.name: max(0, _max_id(t) - manifest.watermarks.get(t.name, 0)) for t in ID_STREAMED}
    pending["changes"] = max(0, _max_change_id() - manifest.watermarks.get("changes", 0))
    refreshed = dt.datetime.fromisoformat(manifest.refreshed_at)
    return {
        "exists": True,
        "generation": manifest.generation,
        "file": str(snapshot_dir() / manifest.file),
        "built_at": manifest.built_at,
        "refreshed_at": manifest.refreshed_at,
        "age_seconds": round((_now() - refreshed).total_seconds()),
        "counts": manifest.counts,
        "pending": pending,
        "last": manifest.last,
    }


__all__ = ["RefreshResult", "SnapshotError", "rebuild", "refresh", "status"]
