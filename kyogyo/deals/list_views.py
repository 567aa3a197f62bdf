"""The list of deals: filters (status, pipeline stage, owner, team, campaign, segment, dates),
sorts on indexed columns, pages without counting, saved views, assigning an owner to many
deals at once, and the export of the filtered list."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST, require_safe

from kyogyo.deals import actions
from kyogyo.deals.models import Deal, PipelineStage
from kyogyo.marketing.models import Campaign
from kyogyo.org import access, restricted
from kyogyo.org.bulk import BulkResult
from kyogyo.org.models import User
from kyogyo.web import bulk, lists
from kyogyo.web.choices import by_owner, describe_owner, owner_choices, read_owner, team_choices
from kyogyo.web.exporting import export_response
from kyogyo.web.listpage import check_reader, render_list
from kyogyo.web.templatetags.web import local_name

MAX_CAMPAIGNS = 500


def status_choices() -> list[tuple[str, str]]:
    return [(str(value), str(label)) for value, label in Deal.Status.choices]


def pipeline_choices() -> list[tuple[str, str]]:
    return [(s.key, local_name(s)) for s in PipelineStage.objects.order_by("order", "id")]


def campaign_choices() -> list[tuple[str, str]]:
    newest = Campaign.objects.order_by("-starts_on", "-id")[:MAX_CAMPAIGNS]
    return [(str(c.pk), c.name) for c in newest]


def name_match(rows: QuerySet[Deal], text: str, columns: Sequence[str] = ("name",)) -> QuerySet[Deal]:
    return lists.with_lower(rows, columns).filter(lists.prefix_match(columns, text))


DEALS = lists.ListSpec(
    "deals",
    (
        lists.search_filter(_("Name starts with"), name_match, ("name",)),
        lists.Filter("status", _("Status"), lists.equals("status"), choices=status_choices),
        lists.Filter(
            "stage", _("Pipeline stage"), lists.equals("pipeline_stage__key"), choices=pipeline_choices
        ),
        lists.Filter("owner", _("Owner"), by_owner("owner"), choices=owner_choices, translate_choices=False),
        lists.Filter("team", _("Owner's team"), lists.equals("owner__team__key"), choices=team_choices),
        lists.Filter(
            "campaign",
            _("Source campaign"),
            lambda rows, value: rows.filter(campaign_id=int(value)),
            choices=campaign_choices,
            translate_choices=False,
        ),
        lists.Filter("segment", _("Segment"), lists.equals("account__segment"), kind="text"),
        *lists.date_range("created_at", _("Created from"), _("Created until"), "created"),
        *lists.date_range("closed_at", _("Closed from"), _("Closed until"), "closed"),
    ),
    (
        lists.Sort("newest", _("Newest first"), ("-created_at", "-id")),
        lists.Sort("oldest", _("Oldest first"), ("created_at", "id")),
        lists.Sort("amount", _("Largest amount"), ("-amount", "-id")),
        lists.Sort("close", _("Expected close"), ("expected_close", "id")),
    ),
)


def deal_rows() -> QuerySet[Deal]:
    return Deal.objects.select_related("account", "contact", "owner", "pipeline_stage")


@login_required
@require_safe
def deal_list(request: HttpRequest) -> HttpResponse:
    return render_list(request, "deals/list.html", DEALS, deal_rows(), owners=owner_choices())


@login_required
@require_safe
def export(request: HttpRequest) -> HttpResponseBase:
    check_reader(request.user)  # type: ignore[arg-type]
    policy = restricted.policy(request.user)  # type: ignore[arg-type]
    state = lists.read(DEALS, request.GET, Deal.objects.all(), policy)
    return export_response("deals", state.rows, request.GET.get("format", "csv"), policy)


def _assign(records: Any, actor: User, params: dict[str, Any]) -> BulkResult:
    return actions.assign_owner_many(records, params["owner"], actor=actor)


DEAL_ACTIONS = (
    bulk.BulkAction(
        "assign", _("Assign an owner"), access.can_edit_deal, _assign, read_owner, ("owner",), describe_owner
    ),
)


@login_required
@require_POST
def deals_bulk(request: HttpRequest) -> HttpResponseBase:
    return bulk.handle(
        request,
        actions=DEAL_ACTIONS,
        rows=deal_rows(),
        name_of=lambda deal: deal.name,
        list_url=reverse("deals:list"),
        export=lambda rows, fmt: export_response(
            "deals",
            rows.order_by("id"),
            fmt,
            restricted.policy(request.user),  # type: ignore[arg-type]
        ),
    )
