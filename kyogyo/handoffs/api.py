"""Handoffs over the API: the receiving team's queue with each handoff's SLA (due in business
hours) and whether it was breached, and accepting or rejecting through the same actions as
the app, which move the person on."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Body, Field, Query, Router, Schema

from kyogyo.api.auth import user_of
from kyogyo.api.conditional import set_etag
from kyogyo.api.errors import ApiError, errors, forbidden, not_found
from kyogyo.api.pagination import PageParams, page_of, paginate
from kyogyo.api.params import MAX_ID, Input, Key, RecordId, Text2000, inline_choices
from kyogyo.handoffs import actions
from kyogyo.handoffs.models import Handoff
from kyogyo.journey.models import ReasonCode
from kyogyo.org import access
from kyogyo.org.models import User

handoffs = Router(tags=["handoffs"])


# --- schemas ------------------------------------------------------------------------------


HandoffStatus = Annotated[Handoff.Status, inline_choices(Handoff.Status)]


class HandoffOut(Schema):
    id: int
    contact_id: int = Field(..., description="the person handed on")
    stage: str = Field(..., description="the handoff stage (mql, sql, won, …)")
    from_team: str
    to_team: str
    assigned_to_id: int | None
    assigned_to: str | None = Field(..., description="username of the person it was routed to")
    created_at: dt.datetime
    due_at: dt.datetime = Field(..., description="the SLA: due after the stage's business hours")
    status: HandoffStatus
    overdue: bool = Field(..., description="open and past its due time now")
    breached: bool = Field(..., description="the SLA was missed: acted on late, or open and overdue")
    breached_at: dt.datetime | None = Field(..., description="when the breach was recorded (the due time)")
    acted_at: dt.datetime | None
    acted_by: str | None
    reason: str | None = Field(..., description="reject reason key")
    note: str


class HandoffFilters(Schema):
    status: HandoffStatus | None = None
    to_team: Key | None = Field(None, description="receiving team key")
    from_team: Key | None = Field(None, description="sending team key")
    assigned_to_id: int | None = Field(None, ge=1, le=MAX_ID)
    mine: bool | None = Field(None, description="true: only those assigned to you")
    overdue: bool | None = Field(None, description="true: only open ones past due; false: the others")


class AcceptIn(Input):
    note: Text2000 = ""


NO_BODY = AcceptIn()  # the body may be left out


class RejectIn(Input):
    reason: Key = Field(..., description="reject reason key (GET /api/reasons?kind=reject)")
    note: Text2000 = ""


# --- serialising --------------------------------------------------------------------------


def handoff_out(handoff: Handoff, now: dt.datetime | None = None) -> HandoffOut:
    now = now or timezone.now()
    overdue = handoff.is_open and handoff.due_at < now
    return HandoffOut(
        id=handoff.pk,
        contact_id=handoff.subject_id,
        stage=handoff.stage.key,
        from_team=handoff.from_team.key,
        to_team=handoff.to_team.key,
        assigned_to_id=handoff.assigned_to_id,
        assigned_to=handoff.assigned_to.get_username() if handoff.assigned_to else None,
        created_at=handoff.created_at,
        due_at=handoff.due_at,
        status=Handoff.Status(handoff.status),
        overdue=overdue,
        breached=overdue or handoff.breached_at is not None,
        breached_at=handoff.breached_at,
        acted_at=handoff.acted_at,
        acted_by=handoff.acted_by.get_username() if handoff.acted_by else None,
        reason=handoff.reason.key if handoff.reason else None,
        note=handoff.note,
    )


# --- lookups with access ------------------------------------------------------------------


def readable_handoffs(user: User) -> QuerySet[Handoff]:
    if not access.can_read_records(user):
        return Handoff.objects.none()
    return Handoff.objects.select_related(
        "stage", "from_team", "to_team", "assigned_to", "acted_by", "reason"
    )


def get_handoff(user: User, pk: int) -> Handoff:
    found = readable_handoffs(user).filter(pk=pk).first()
    if found is None:
        raise not_found("handoff")
    return found


def _handoff_to_act_on(request: HttpRequest, pk: int) -> tuple[User, Handoff]:
    user = user_of(request)
    handoff = get_handoff(user, pk)
    if not access.can_act_on_handoff(user, handoff):
        raise forbidden("only the receiving team or a manager can act on this handoff")
    return user, handoff


def _reject_reason(key: str) -> ReasonCode:
    found = ReasonCode.objects.filter(kind=ReasonCode.Kind.REJECT, key=key, active=True).first()
    if found is None:
        known = ReasonCode.objects.filter(kind=ReasonCode.Kind.REJECT, active=True).values_list(
            "key", flat=True
        )
        raise ApiError(
            404,
            "not_found",
            f"no reject reason {key!r}; reject reasons: {', '.join(known)}",
            details=[{"field": "reason", "code": "not_found", "message": "no such reject reason"}],
        )
    return found


def _shown(user: User, handoff: Handoff, response: HttpResponse) -> HandoffOut:
    shown = handoff_out(readable_handoffs(user).get(pk=handoff.pk))
    set_etag(response, shown)
    return shown


# --- handoffs -----------------------------------------------------------------------------


@handoffs.get("", response={200: page_of(HandoffOut), **errors()}, summary="List handoffs")
def list_handoffs(request: HttpRequest, filters: Query[HandoffFilters], page: Query[PageParams]):
    user = user_of(request)
    if not access.can_read_records(user):
        raise forbidden("only members of a team can read handoffs")
    now = timezone.now()
    queryset = readable_handoffs(user)
    if filters.status is not None:
        queryset = queryset.filter(status=filters.status)
    if filters.to_team is not None:
        queryset = queryset.filter(to_team__key=filters.to_team)
    if filters.from_team is not None:
        queryset = queryset.filter(from_team__key=filters.from_team)
    if filters.assigned_to_id is not None:
        queryset = queryset.filter(assigned_to_id=filters.assigned_to_id)
    if filters.mine:
        queryset = queryset.filter(assigned_to=user)
    if filters.overdue is not None:
        late = Q(status=Handoff.Status.OPEN, due_at__lt=now)
        queryset = queryset.filter(late) if filters.overdue else queryset.exclude(late)
    return paginate(queryset, page, lambda handoff: handoff_out(handoff, now))


@handoffs.get("/{int:handoff_id}", response={200: HandoffOut, **errors(404)}, summary="One handoff")
def get_handoff_view(request: HttpRequest, handoff_id: RecordId, response: HttpResponse):
    shown = handoff_out(get_handoff(user_of(request), handoff_id))
    set_etag(response, shown)
    return shown


@handoffs.post(
    "/{int:handoff_id}/accept",
    response={200: HandoffOut, **errors(404, 409)},
    summary="Accept: the person moves to the stage after the handoff",
)
def accept(
    request: HttpRequest, handoff_id: RecordId, response: HttpResponse, payload: Body[AcceptIn] = NO_BODY
):
    user, handoff = _handoff_to_act_on(request, handoff_id)
    closed = actions.accept_handoff(handoff, actor=user, note=payload.note)
    return _shown(user, closed, response)


@handoffs.post(
    "/{int:handoff_id}/reject",
    response={200: HandoffOut, **errors(404, 409)},
    summary="Reject with a reason: the person goes where the reason says, or back to the sender",
)
def reject(request: HttpRequest, handoff_id: RecordId, payload: RejectIn, response: HttpResponse):
    user, handoff = _handoff_to_act_on(request, handoff_id)
    reason = _reject_reason(payload.reason)
    closed = actions.reject_handoff(handoff, actor=user, reason=reason, note=payload.note)
    return _shown(user, closed, response)
