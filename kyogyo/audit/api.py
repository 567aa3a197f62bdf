"""A record's history over the API: the same rows the record pages show (who or what changed
which fields from which value to which, when, through which path), oldest first and paged by
cursor like every list. Whoever may read the record may read its history; an id the caller
may not see answers like an unknown one."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from kyogyo.api.auth import user_of
from kyogyo.api.errors import errors, not_found
from kyogyo.api.pagination import PageParams, page_of, paginate
from kyogyo.api.params import RecordId
from kyogyo.audit.models import Change
from kyogyo.org import restricted
from kyogyo.org.models import User

router = Router(tags=["history"])


class RecordKind(enum.StrEnum):
    accounts = "accounts"
    contacts = "contacts"
    deals = "deals"
    subscriptions = "subscriptions"
    handoffs = "handoffs"


def _readable(kind: RecordKind) -> Callable[[User], QuerySet]:
    # Imported here: each app's API module imports the site, which imports this router.
    from kyogyo.customers.api import readable_accounts, readable_contacts
    from kyogyo.deals.api import readable_deals
    from kyogyo.handoffs.api import readable_handoffs
    from kyogyo.success.api import readable_subscriptions

    return {
        RecordKind.accounts: readable_accounts,
        RecordKind.contacts: readable_contacts,
        RecordKind.deals: readable_deals,
        RecordKind.subscriptions: readable_subscriptions,
        RecordKind.handoffs: readable_handoffs,
    }[kind]


class ChangeOut(Schema):
    id: int
    at: dt.datetime
    operation: str = Field(..., description="create, update or delete")
    path: str = Field(..., description="ui, api, admin, intake, cli, import, bulk, rule, job or system")
    label: str = Field(..., description="what the path said it was doing, e.g. the import's file")
    actor_id: int | None = Field(..., description="the user who made the change; null: the system")
    actor: str | None = Field(..., description="username of that user")
    changes: dict[str, list[Any]] = Field(
        ..., description="field → [before, after]; secrets are masked, erased personal data blanked"
    )
    restricted: list[str] = Field(
        ..., description="fields withheld from you (restricted, docs/privacy.md): their values are null"
    )
    redacted: bool = Field(..., description="personal data in this row was erased")


@router.get(
    "/{kind}/{int:record_id}",
    response={200: page_of(ChangeOut), **errors(404)},
    summary="A record's history",
)
def record_history(request: HttpRequest, kind: RecordKind, record_id: RecordId, page: Query[PageParams]):
    user = user_of(request)
    record = _readable(kind)(user).filter(pk=record_id).first()
    if record is None:
        raise not_found(kind.value.rstrip("s"))
    model = type(record)._meta
    rows = Change.objects.filter(model=f"{model.app_label}.{model.model_name}", object_id=str(record.pk))
    listed = paginate(rows, page, lambda change: change)
    actors = get_user_model().objects.in_bulk({c.actor_id for c in listed["items"] if c.actor_id is not None})
    policy = restricted.policy(user)
    hidden = {
        name for change in listed["items"] for name in change.changes if not policy.may_see(record, name)
    }
    listed["items"] = [_change_out(change, actors, hidden) for change in listed["items"]]
    return listed


def _change_out(change: Change, actors: dict[int, Any], hidden: set[str]) -> dict[str, Any]:
    """One change as the reader may see it: the values of fields withheld from them (past
    values too) are null and the fields named under ``restricted``."""
    actor = actors.get(change.actor_id) if change.actor_id is not None else None
    withheld = sorted(name for name in change.changes if name in hidden)
    return {
        "id": change.pk,
        "at": change.at,
        "operation": change.operation,
        "path": change.path,
        "label": change.label,
        "actor_id": change.actor_id,
        "actor": actor.get_username() if actor else None,
        "changes": {name: [None, None] if name in hidden else pair for name, pair in change.changes.items()},
        "restricted": withheld,
        "redacted": change.redacted,
    }
