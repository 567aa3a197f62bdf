"""The list of handoffs: every handoff (not only the reader's queue), filtered by status —
overdue included —, stage, team, assignee and dates, with the SLA countdown of the queue
(``queues.with_countdown``), the queue's accept and reject forms on each open row, and
accepting or assigning many at once through the handoff actions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST, require_safe

from kyogyo.handoffs import actions
from kyogyo.handoffs.models import Handoff
from kyogyo.handoffs.queues import QueueItem, with_countdown
from kyogyo.journey.models import Stage
from kyogyo.org import access, restricted
from kyogyo.org.bulk import BulkResult
from kyogyo.org.models import User
from kyogyo.web import bulk, lists
from kyogyo.web.choices import by_owner, by_stage, owner_choices, team_choices, user_label
from kyogyo.web.exporting import export_response
from kyogyo.web.listpage import check_reader, render_list
from kyogyo.web.templatetags.web import local_name, person
from kyogyo.web.workspace import reject_reasons

OVERDUE = "overdue"


def status_choices() -> list[tuple[str, str]]:
    return [*((str(v), str(label)) for v, label in Handoff.Status.choices), (OVERDUE, gettext("Overdue"))]


def by_status(rows: QuerySet[Handoff], value: str) -> QuerySet[Handoff]:
    if value == OVERDUE:
        return rows.filter(status=Handoff.Status.OPEN, due_at__lt=timezone.now())
    return rows.filter(status=value)


def handoff_stage_choices() -> list[tuple[str, str]]:
    stages = Stage.objects.filter(hands_to__isnull=False).order_by("order", "id")
    return [(s.key, local_name(s)) for s in stages]


HANDOFFS = lists.ListSpec(
    "handoffs",
    (
        lists.Filter("status", _("Status"), by_status, choices=status_choices),
        lists.Filter("stage", _("Stage"), by_stage("stage"), choices=handoff_stage_choices),
        lists.Filter("team", _("To team"), lists.equals("to_team__key"), choices=team_choices),
        lists.Filter("from_team", _("From team"), lists.equals("from_team__key"), choices=team_choices),
        lists.Filter(
            "owner", _("Assigned to"), by_owner("assigned_to"), choices=owner_choices, translate_choices=False
        ),
        *lists.date_range("created_at", _("Created from"), _("Created until"), "created"),
    ),
    (
        lists.Sort("due", _("Due first"), ("due_at", "id")),
        lists.Sort("newest", _("Newest first"), ("-created_at", "-id")),
        lists.Sort("oldest", _("Oldest first"), ("created_at", "id")),
    ),
)


@dataclass(frozen=True)
class Row:
    item: QueueItem
    can_act: bool

    @property
    def handoff(self) -> Handoff:
        return self.item.handoff


def handoff_rows() -> QuerySet[Handoff]:
    return Handoff.objects.select_related(
        "subject", "subject__account", "stage", "from_team", "to_team", "assigned_to"
    )


@login_required
@require_safe
def handoff_list(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]

    def rows_of(handoffs: list[Handoff]) -> list[Row]:
        return [Row(item, access.can_act_on_handoff(user, item.handoff)) for item in with_countdown(handoffs)]

    return render_list(
        request,
        "handoffs/list.html",
        HANDOFFS,
        handoff_rows(),
        decorate=rows_of,
        reject_reasons=reject_reasons(),
        owners=owner_choices()[1:],
    )


@login_required
@require_safe
def export(request: HttpRequest) -> HttpResponseBase:
    check_reader(request.user)  # type: ignore[arg-type]
    policy = restricted.policy(request.user)  # type: ignore[arg-type]
    state = lists.read(HANDOFFS, request.GET, Handoff.objects.all(), policy)
    return export_response("handoffs", state.rows, request.GET.get("format", "csv"), policy)


def may_accept(user: User, handoff: Handoff) -> bool:
    return handoff.is_open and access.can_act_on_handoff(user, handoff)


def read_assignee(post: QueryDict) -> dict[str, Any]:
    raw = post.get("assignee", "")
    found = User.objects.filter(pk=int(raw), is_active=True).first() if raw.isdigit() else None
    if found is None:
        raise lists.BadValue(gettext("Choose who takes the handoffs."))
    return {"assignee": found}


def describe_assignee(params: dict[str, Any]) -> tuple[str, str]:
    return gettext("Assign to:"), user_label(params["assignee"])


def _accept(records: Any, actor: User, params: dict[str, Any]) -> BulkResult:
    return actions.accept_many(records, actor=actor)


def _assign(records: Any, actor: User, params: dict[str, Any]) -> BulkResult:
    return actions.assign_many(records, params["assignee"], actor=actor)


HANDOFF_ACTIONS = (
    bulk.BulkAction("accept", _("Accept"), may_accept, _accept),
    bulk.BulkAction(
        "assign", _("Assign"), may_accept, _assign, read_assignee, ("assignee",), describe_assignee
    ),
)


@login_required
@require_POST
def handoffs_bulk(request: HttpRequest) -> HttpResponseBase:
    return bulk.handle(
        request,
        actions=HANDOFF_ACTIONS,
        rows=handoff_rows(),
        name_of=lambda handoff: person(handoff.subject),
        list_url=reverse("handoffs:list"),
        export=lambda rows, fmt: export_response(
            "handoffs",
            rows.order_by("id"),
            fmt,
            restricted.policy(request.user),  # type: ignore[arg-type]
        ),
    )
