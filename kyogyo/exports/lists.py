"""The lists ``kyogyo export`` can write: their columns, their date for ``--since`` and the
fields ``--filter`` accepts. Rows come from ``values_list(...).iterator(chunk_size=...)``, one
query with the joins it needs, so memory stays bounded on any number of rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Model, QuerySet
from django.utils import timezone

from kyogyo.customers.models import Account, Contact
from kyogyo.deals.models import Deal
from kyogyo.handoffs.models import Handoff
from kyogyo.marketing.models import Activity
from kyogyo.org.restricted import Policy

CHUNK_SIZE = 2000


class ExportError(Exception):
    """Bad export options; ``code`` is stable (see docs/exports.md)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Filter:
    lookup: str
    convert: Callable[[str], Any] = str


@dataclass(frozen=True)
class ExportList:
    kind: str
    model: type[Model]
    columns: Sequence[tuple[str, str]]  # (header, ORM path)
    since_field: str
    filters: dict[str, Filter] = field(default_factory=dict)

    @property
    def headers(self) -> list[str]:
        return [header for header, _ in self.columns]


def _integer(text: str) -> int:
    return int(text)


LISTS: dict[str, ExportList] = {
    "accounts": ExportList(
        "accounts",
        Account,
        [
            ("id", "id"),
            ("external_id", "external_id"),
            ("name", "name"),
            ("domain", "domain"),
            ("industry", "industry"),
            ("employee_count", "employee_count"),
            ("country", "country"),
            ("segment", "segment"),
            ("kind", "kind"),
            ("created_at", "created_at"),
        ],
        "created_at",
        {
            "kind": Filter("kind"),
            "segment": Filter("segment"),
            "industry": Filter("industry"),
            "country": Filter("country"),
            "domain": Filter("domain"),
        },
    ),
    "contacts": ExportList(
        "contacts",
        Contact,
        [
            ("id", "id"),
            ("external_id", "external_id"),
            ("email", "email"),
            ("first_name", "first_name"),
            ("last_name", "last_name"),
            ("title", "title"),
            ("phone", "phone"),
            ("account_id", "account_id"),
            ("account", "account__name"),
            ("stage", "milestone__current_stage__key"),
            ("consent", "consent"),
            ("source", "source"),
            ("owner", "owner__username"),
            ("fit_score", "fit_score"),
            ("engagement_score", "engagement_score"),
            ("last_activity_at", "last_activity_at"),
            ("created_at", "created_at"),
        ],
        "created_at",
        {
            "account_id": Filter("account_id", _integer),
            "stage": Filter("milestone__current_stage__key"),
            "consent": Filter("consent"),
            "source": Filter("source"),
            "owner": Filter("owner__username"),
        },
    ),
    "deals": ExportList(
        "deals",
        Deal,
        [
            ("id", "id"),
            ("external_id", "external_id"),
            ("name", "name"),
            ("account_id", "account_id"),
            ("account", "account__name"),
            ("contact_id", "contact_id"),
            ("contact_email", "contact__email"),
            ("amount", "amount"),
            ("currency", "currency"),
            ("pipeline_stage", "pipeline_stage__key"),
            ("status", "status"),
            ("probability", "probability"),
            ("expected_close", "expected_close"),
            ("owner", "owner__username"),
            ("loss_reason", "loss_reason__key"),
            ("campaign", "campaign__name"),
            ("created_at", "created_at"),
            ("closed_at", "closed_at"),
        ],
        "created_at",
        {
            "status": Filter("status"),
            "currency": Filter("currency"),
            "pipeline_stage": Filter("pipeline_stage__key"),
            "owner": Filter("owner__username"),
            "account_id": Filter("account_id", _integer),
        },
    ),
    "handoffs": ExportList(
        "handoffs",
        Handoff,
        [
            ("id", "id"),
            ("subject_id", "subject_id"),
            ("subject_email", "subject__email"),
            ("stage", "stage__key"),
            ("from_team", "from_team__key"),
            ("to_team", "to_team__key"),
            ("assigned_to", "assigned_to__username"),
            ("status", "status"),
            ("created_at", "created_at"),
            ("due_at", "due_at"),
            ("acted_at", "acted_at"),
            ("acted_by", "acted_by__username"),
            ("reject_reason", "reason__key"),
            ("note", "note"),
            ("breached_at", "breached_at"),
        ],
        "created_at",
        {
            "status": Filter("status"),
            "stage": Filter("stage__key"),
            "from_team": Filter("from_team__key"),
            "to_team": Filter("to_team__key"),
            "assigned_to": Filter("assigned_to__username"),
        },
    ),
    "activities": ExportList(
        "activities",
        Activity,
        [
            ("id", "id"),
            ("external_id", "external_id"),
            ("contact_id", "contact_id"),
            ("contact_email", "contact__email"),
            ("type", "type"),
            ("occurred_at", "occurred_at"),
            ("source", "source"),
            ("campaign", "campaign__name"),
            ("actor", "actor__username"),
            ("payload", "payload"),
        ],
        "occurred_at",
        {
            "type": Filter("type"),
            "source": Filter("source"),
            "campaign": Filter("campaign__name"),
            "contact_id": Filter("contact_id", _integer),
        },
    ),
}


def parse_filters(export: ExportList, pairs: Sequence[str]) -> dict[str, Any]:
    """``["status=open", …]`` as ORM lookups; an unknown field or a bad value is an error."""
    lookups: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ExportError("bad_filter", f"{pair!r}: write a filter as FIELD=VALUE, e.g. status=open")
        if name not in export.filters:
            allowed = ", ".join(sorted(export.filters))
            raise ExportError(
                "unknown_filter", f"{name!r} cannot filter {export.kind}; use one of: {allowed}"
            )
        spec = export.filters[name]
        try:
            lookups[spec.lookup] = spec.convert(value)
        except ValueError:
            raise ExportError("bad_filter", f"{pair!r}: {value!r} is not a valid {name}") from None
    return lookups


def queryset(export: ExportList, *, since: dt.date | None = None, filters: Sequence[str] = ()) -> QuerySet:
    rows = export.model._default_manager.filter(**parse_filters(export, filters))
    if since is not None:
        start = timezone.make_aware(dt.datetime.combine(since, dt.time.min))
        rows = rows.filter(**{f"{export.since_field}__gte": start})
    return rows.order_by("id")


def rows(
    export: ExportList, policy: Policy, *, since: dt.date | None = None, filters: Sequence[str] = ()
) -> Iterator[tuple[Any, ...]]:
    """The list's rows as the reader of ``policy`` may see them: restricted values masked,
    and a ``--filter`` on a value hidden from them matching none of the rows it hides."""
    paths = [path for _, path in export.columns]
    chosen = queryset(export, since=since, filters=filters)
    chosen, _visible = policy.visible_rows(chosen, [_path_of(export, pair) for pair in filters])
    return policy.masked_rows(chosen, paths, CHUNK_SIZE)


def _path_of(export: ExportList, pair: str) -> str:
    return export.filters[pair.partition("=")[0].strip()].lookup


def get(kind: str) -> ExportList:
    try:
        return LISTS[kind]
    except KeyError:
        raise ExportError("unknown_kind", f"{kind!r}: export one of {', '.join(LISTS)}") from None
