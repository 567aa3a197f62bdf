"""Reading the history of a record, and blanking personal data in it on erasure."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db import models
from django.db.models.functions import Cast

from kyogyo.audit import registry
from kyogyo.audit.models import Change
from kyogyo.org.restricted import Policy, masked_value

ERASED = "[erased]"


@dataclass(frozen=True)
class FieldChange:
    name: str
    label: str
    before: Any
    after: Any


@dataclass(frozen=True)
class Entry:
    at: dt.datetime
    operation: str
    operation_label: str
    path: str
    path_label: str
    label: str
    actor: Any  # a user, or None for the system
    fields: list[FieldChange]
    redacted: bool


def label_of(model: type[models.Model]) -> str:
    return f"{model._meta.app_label}.{model._meta.model_name}"


def history_for(
    record: models.Model, *, before_id: int | None = None, limit: int = 50, policy: Policy | None = None
) -> list[Entry]:
    """The record's changes, newest first (``before_id`` pages further back); three
    queries whatever the length: the changes, their users. With the reader's ``policy``,
    the values of fields they may not see on this record are masked, past ones too."""
    rows = Change.objects.filter(model=label_of(type(record)), object_id=str(record.pk))
    if before_id is not None:
        rows = rows.filter(id__lt=before_id)
    changes = list(rows.order_by("-id")[:limit])
    users = get_user_model().objects.in_bulk({c.actor_id for c in changes if c.actor_id is not None})
    entry = registry.entry_for(label_of(type(record)))
    order = [name for name, _, _ in registry.columns(entry)] if entry else []
    verbose = {f.name: str(f.verbose_name) for f in type(record)._meta.concrete_fields}
    return [
        Entry(
            at=change.at,
            operation=change.operation,
            operation_label=change.get_operation_display(),
            path=change.path,
            path_label=change.get_path_display(),
            label=change.label,
            actor=users.get(change.actor_id) if change.actor_id is not None else None,
            fields=[
                _shown(policy, record, FieldChange(name, verbose.get(name, name), *change.changes[name]))
                for name in sorted(change.changes, key=lambda n: order.index(n) if n in order else len(order))
            ],
            redacted=change.redacted,
        )
        for change in changes
    ]


def _shown(policy: Policy | None, record: models.Model, change: FieldChange) -> FieldChange:
    if policy is None or policy.may_see(record, change.name):
        return change
    hidden = masked_value()
    return FieldChange(change.name, change.label, hidden, hidden)


def redact(model: type[models.Model], object_ids: Iterable[Any], fields: Iterable[str] | None = None) -> int:
    """Blank the values (all, or those of ``fields``) in the history of these records; the
    fact that something changed, when and by whom stays. A row is redacted once."""
    ids = [str(pk) for pk in object_ids]
    if not ids:
        return 0
    rows = Change.objects.filter(model=label_of(model), object_id__in=ids, redacted=False)
    return _blank(rows, set(fields) if fields is not None else None)


def redact_mentions(text: str) -> int:
    """Blank every history row whose values hold ``text`` (an erased person's address in
    another record's history). A full scan: erasure is rare and must be complete."""
    if not text:
        return 0
    rows = Change.objects.annotate(_text=Cast("changes", models.TextField())).filter(
        _text__icontains=text, redacted=False
    )
    return _blank(rows, None)


def _blank(rows: models.QuerySet[Change], fields: set[str] | None) -> int:
    count = 0
    for change in rows.only("pk", "changes"):
        change.changes = {
            name: ([ERASED, ERASED] if fields is None or name in fields else values)
            for name, values in change.changes.items()
        }
        change.redacted = True
        change.save(update_fields=["changes", "redacted"])
        count += 1
    return count
