"""New rows of one model written in bulk, without model instances: the values Django would
store (the same rows as ``bulk_create``), ids handed out by the database. The batch actions
write thousands of rows per call, where the ORM's per-field work would cost more than the
database's.

PostgreSQL: ids from the table's own sequence, rows by ``COPY``. SQLite, whose writers hold
the write lock from the start of their (immediate) transaction: ids after the largest one
ever used, rows by one prepared statement run many times. Either way, call inside a
transaction."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Collection, Sequence
from typing import Any

from django.db import connection, models

from kyogyo.audit import context as audit
from kyogyo.audit import registry, triggers


class Table:
    """The columns of ``model`` in order, and how each value goes to the database."""

    def __init__(self, model: type[models.Model]) -> None:
        self.model = model
        pk = model._meta.pk
        assert pk is not None
        self.pk_column, self.pk_attname = pk.column or "", pk.attname
        # An automatic id is handed out here; any other primary key comes with the row.
        self.auto_id = isinstance(pk, models.AutoField)
        self.fields = [f for f in model._meta.concrete_fields if not (self.auto_id and f.primary_key)]
        self.attnames = [f.attname for f in self.fields]
        self.converters = [
            (i, convert)
            for i, convert in enumerate(_converter(f, connection.vendor) for f in self.fields)
            if convert
        ]

    def values_of(self, instance: models.Model) -> list[Any]:
        return [getattr(instance, name) for name in self.attnames]

    def insert(self, rows: Sequence[Sequence[Any]]) -> list[int]:
        """Write ``rows`` (values in ``attnames`` order); returns their ids, in order (for a
        model without an automatic id, its primary keys as given)."""
        if not rows:
            return []
        assert connection.in_atomic_block, "rows are written inside a transaction"
        encoded = [self._encode(row) for row in rows]
        table = connection.ops.quote_name(self.model._meta.db_table)
        columns = [connection.ops.quote_name(f.column or "") for f in self.fields]
        ids: list[int] = []
        if self.auto_id:
            ids = self._new_ids(table, len(rows))
            columns.insert(0, connection.ops.quote_name(self.pk_column))
            encoded = [[pk, *values] for pk, values in zip(ids, encoded, strict=True)]
        else:
            pk_index = self.attnames.index(self.pk_attname)
            ids = [row[pk_index] for row in rows]
        connection.ensure_connection()
        raw: Any = connection.connection
        if connection.vendor == "postgresql":
            audit.apply_before_write(connection)  # COPY on the raw connection: the history's origin first
            with (
                raw.cursor() as cursor,
                cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
            ):
                for values in encoded:
                    copy.write_row(values)
        else:
            marks = ", ".join("?" for _ in columns)
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
            tracked = registry.entry_for(self.model._meta.label_lower)
            if tracked is None or not self.auto_id or not audit.current().recording:
                raw.executemany(sql, encoded)
                return ids
            # ids are consecutive (``_new_ids``): their history follows in one statement
            triggers.sqlite_insert_recorded(
                raw, tracked, lambda: raw.executemany(sql, encoded), ids[0], ids[-1]
            )
        return ids

    def find(
        self, name: str, values: Collection[Any], *, caseless: bool = False, lock: bool = False
    ) -> list[models.Model]:
        """Instances whose field ``name`` holds one of ``values`` (``caseless``: compared as
        ``LOWER(column)``, the form the case-insensitive indexes have), in id order among
        those with the same value; ``lock`` them (``SELECT … FOR UPDATE``) where the database
        can. The ORM's ``__in`` lookup with model instances, without its per-value work."""
        meta = self.model._meta
        everything = list(meta.concrete_fields)
        field = meta.get_field(name)
        assert isinstance(field, models.Field)
        quote = connection.ops.quote_name
        table = quote(meta.db_table)
        column = f"{table}.{quote(field.column or '')}"
        compared = f"LOWER({column})" if caseless else column
        selected = ", ".join(f"{table}.{quote(f.column or '')}" for f in everything)
        order = f"{table}.{quote(self.pk_column)}"
        tail = " FOR UPDATE" if lock and connection.features.has_select_for_update else ""
        converters = [
            (i, [*connection.ops.get_db_converters(col), *col.get_db_converters(connection)], col)
            for i, col in enumerate(f.get_col(meta.db_table) for f in everything)
        ]
        converters = [(i, found, col) for i, found, col in converters if found]
        names = [f.attname for f in everything]
        wanted = sorted(values, key=str)
        instances: list[models.Model] = []
        with connection.cursor() as cursor:
            for start in range(0, len(wanted), 900):  # SQLite's limit on query parameters
                part = wanted[start : start + 900]
                marks = ", ".join(["%s"] * len(part))
                cursor.execute(
                    f"SELECT {selected} FROM {table} WHERE {compared} IN ({marks}) ORDER BY {order}{tail}",
                    part,
                )
                for row in cursor.fetchall():
                    row = list(row)
                    for i, functions, col in converters:
                        for convert in functions:
                            row[i] = convert(row[i], col, connection)
                    instances.append(self.model.from_db(connection.alias, names, row))
        return instances

    def _encode(self, row: Sequence[Any]) -> list[Any]:
        values = list(row)
        for i, convert in self.converters:
            if values[i] is not None:
                values[i] = convert(values[i])
        return values

    def _new_ids(self, table: str, count: int) -> list[int]:
        column = self.pk_column
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                    [self.model._meta.db_table, column, count],
                )
                return sorted(r[0] for r in cursor.fetchall())
            # AUTOINCREMENT: never an id used before, even by a row since deleted.
            cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [self.model._meta.db_table])
            found = cursor.fetchone()
            cursor.execute(f"SELECT MAX({connection.ops.quote_name(column)}) FROM {table}")
            last = max(found[0] if found else 0, cursor.fetchone()[0] or 0)
        return list(range(last + 1, last + 1 + count))


def _converter(field: models.Field, vendor: str) -> Callable[[Any], Any] | None:
    """What Django's ``get_db_prep_save`` makes of a value, for the field types that need it."""
    if isinstance(field, models.JSONField):
        return json.dumps
    if isinstance(field, models.CharField | models.TextField):
        return str  # plain text, not a choices enum member
    if isinstance(field, models.DateTimeField) and vendor != "postgresql":
        # SQLite: naive UTC text, as adapt_datetimefield_value stores it
        return lambda v: str(v.astimezone(dt.UTC).replace(tzinfo=None))
    if isinstance(field, models.DateField) and not isinstance(field, models.DateTimeField):
        return lambda v: v.isoformat()
    return None
