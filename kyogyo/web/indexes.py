"""Indexes the list pages and the search need, created by the apps' migrations.

Prefix search (`lower(name) LIKE 'abc%'`) can use a B-tree index on PostgreSQL only with the
`text_pattern_ops` operator class when the database collation is not "C"; SQLite has no
operator classes. So the same index is written per backend, and the migrations that add them
call :func:`create` / :func:`drop` from ``RunPython`` (the indexes are not part of the models'
state: nothing in the ORM refers to them by name)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ListIndex:
    name: str
    table: str
    columns: Sequence[str]  # SQL terms: "created_at", "id DESC"
    prefix: str | None = None  # a column searched by prefix of its lower-case text
    postgres_columns: Sequence[str] = ()  # where PostgreSQL needs another order (NULLS LAST)

    def sql(self, vendor: str) -> str:
        if self.prefix is not None:
            opclass = " text_pattern_ops" if vendor == "postgresql" else ""
            terms = f"(lower({self.prefix}){opclass})"
        else:
            columns = (
                self.postgres_columns if vendor == "postgresql" and self.postgres_columns else self.columns
            )
            terms = f"({', '.join(columns)})"
        return f"CREATE INDEX IF NOT EXISTS {self.name} ON {self.table} {terms}"


def create(indexes: Sequence[ListIndex]) -> Callable[[Any, Any], None]:
    def forward(apps: Any, schema_editor: Any) -> None:
        vendor = schema_editor.connection.vendor
        for index in indexes:
            schema_editor.execute(index.sql(vendor))

    return forward


def drop(indexes: Sequence[ListIndex]) -> Callable[[Any, Any], None]:
    def backward(apps: Any, schema_editor: Any) -> None:
        for index in indexes:
            schema_editor.execute(f"DROP INDEX IF EXISTS {index.name}")

    return backward
