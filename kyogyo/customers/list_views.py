"""The lists of people and companies: filters, sorts, pages without counting, saved views,
bulk actions (assign an owner, classify, export) and the export of the filtered list."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import F, QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST, require_safe

from kyogyo.customers import actions
from kyogyo.customers.models import Account, Contact
from kyogyo.journey import rulebook
from kyogyo.journey.actions import CLASSES, classification_of
from kyogyo.journey.models import ReasonCode, Stage
from kyogyo.org import access, restricted
from kyogyo.org.bulk import BulkResult
from kyogyo.org.models import User
from kyogyo.web import bulk, lists
from kyogyo.web.choices import (
    by_owner,
    by_stage,
    describe_owner,
    owner_choices,
    read_owner,
    stage_choices,
    team_choices,
)
from kyogyo.web.exporting import export_response
from kyogyo.web.listpage import check_reader, render_list
from kyogyo.web.templatetags.web import local_name, person

# --- choices the filters and bulk forms offer ---------------------------------------------


def classification_choices() -> list[tuple[str, str]]:
    return [("now", gettext("Now")), ("later", gettext("Later")), ("never", gettext("Never"))]


def by_classification(rows: QuerySet[Contact], verdict: str) -> QuerySet[Contact]:
    stages = rulebook.load_stage_model()
    keys = [key for key in stages.stages if classification_of(key, stages) == verdict]
    return rows.filter(milestone__current_stage__in=Stage.ids_where(key__in=keys))


# --- people -------------------------------------------------------------------------------

PEOPLE = lists.ListSpec(
    "people",
    (
        lists.search_filter(_("Name or email starts with"), lists.person_match, lists.PERSON_COLUMNS),
        lists.Filter("stage", _("Stage"), by_stage("milestone__current_stage"), choices=stage_choices),
        lists.Filter(
            "classification", _("Classification"), by_classification, choices=classification_choices
        ),
        lists.Filter(
            "team",
            _("Team"),
            by_stage("milestone__current_stage", "team__key"),
            choices=team_choices,
        ),
        lists.Filter("owner", _("Owner"), by_owner("owner"), choices=owner_choices, translate_choices=False),
        lists.Filter("source", _("Source"), lists.equals("source"), kind="text"),
        lists.Filter("segment", _("Segment"), lists.equals("account__segment"), kind="text"),
        *lists.date_range("created_at", _("Created from"), _("Created until"), "created"),
        *lists.date_range("last_activity_at", _("Active from"), _("Active until"), "active"),
    ),
    (
        lists.Sort("newest", _("Newest first"), ("-id",)),
        lists.Sort("oldest", _("Oldest first"), ("id",)),
        lists.Sort("active", _("Recently active"), (F("last_activity_at").desc(nulls_last=True), "-id")),
        lists.Sort("name", _("Family name"), ("last_name", "first_name", "id")),
        lists.Sort("email", _("Email"), ("email", "id")),
    ),
)


def people_rows() -> QuerySet[Contact]:
    return Contact.objects.select_related("account", "owner", "milestone__current_stage")


@login_required
@require_safe
def contacts(request: HttpRequest) -> HttpResponse:
    return render_list(
        request,
        "customers/contacts.html",
        PEOPLE,
        people_rows(),
        owners=owner_choices(),
        classes=classification_choices(),
        disqualify_reasons=disqualify_reasons(),
    )


@login_required
@require_safe
def contacts_export(request: HttpRequest) -> HttpResponseBase:
    check_reader(request.user)  # type: ignore[arg-type]
    policy = restricted.policy(request.user)  # type: ignore[arg-type]
    state = lists.read(PEOPLE, request.GET, Contact.objects.all(), policy)
    return export_response("contacts", state.rows, request.GET.get("format", "csv"), policy)


def disqualify_reasons() -> list[ReasonCode]:
    return list(ReasonCode.objects.filter(kind=ReasonCode.Kind.DISQUALIFY, active=True).order_by("label"))


def read_verdict(post: QueryDict) -> dict[str, Any]:
    verdict = post.get("verdict", "")
    if verdict not in CLASSES:
        raise lists.BadValue(gettext("Classify as now, later or never."))
    reason = None
    if verdict == "never":
        reason = ReasonCode.objects.filter(
            kind=ReasonCode.Kind.DISQUALIFY, active=True, key=post.get("reason", "")
        ).first()
        if reason is None:
            raise lists.BadValue(gettext("Classifying as never needs a reason."))
    return {"verdict": verdict, "reason": reason}


def describe_verdict(params: dict[str, Any]) -> tuple[str, str]:
    label = dict(classification_choices())[params["verdict"]]
    if params["reason"] is not None:
        label = f"{label} ({local_name(params['reason'])})"
    return gettext("Classify as:"), label


def _assign(records: Any, actor: User, params: dict[str, Any]) -> BulkResult:
    return actions.assign_owner_many(records, params["owner"], actor=actor)


def _classify(records: Any, actor: User, params: dict[str, Any]) -> BulkResult:
    return actions.classify_many(records, params["verdict"], actor=actor, reason=params["reason"])


PEOPLE_ACTIONS = (
    bulk.BulkAction(
        "assign",
        _("Assign an owner"),
        access.can_change_contact,
        _assign,
        read_owner,
        ("owner",),
        describe_owner,
    ),
    bulk.BulkAction(
        "classify",
        _("Classify"),
        access.can_change_contact,
        _classify,
        read_verdict,
        ("verdict", "reason"),
        describe_verdict,
    ),
)


@login_required
@require_POST
def contacts_bulk(request: HttpRequest) -> HttpResponseBase:
    return bulk.handle(
        request,
        actions=PEOPLE_ACTIONS,
        rows=people_rows(),
        name_of=person,
        list_url=reverse("customers:contacts"),
        export=lambda rows, fmt: export_response(
            "contacts",
            rows.order_by("id"),
            fmt,
            restricted.policy(request.user),  # type: ignore[arg-type]
        ),
    )


# --- companies ----------------------------------------------------------------------------


def kind_choices() -> list[tuple[str, str]]:
    return [(str(value), str(label)) for value, label in Account.Kind.choices]


COMPANY_COLUMNS = ("name", "domain")


def company_match(
    rows: QuerySet[Account], text: str, columns: Sequence[str] = COMPANY_COLUMNS
) -> QuerySet[Account]:
    return lists.with_lower(rows, columns).filter(lists.prefix_match(columns, text))


COMPANIES = lists.ListSpec(
    "companies",
    (
        lists.search_filter(_("Name or domain starts with"), company_match, COMPANY_COLUMNS),
        lists.Filter("kind", _("Kind"), lists.equals("kind"), choices=kind_choices),
        lists.Filter("segment", _("Segment"), lists.equals("segment"), kind="text"),
        lists.Filter("industry", _("Industry"), lists.equals("industry"), kind="text"),
        lists.Filter("country", _("Country"), lists.equals("country"), kind="text"),
        *lists.date_range("created_at", _("Created from"), _("Created until"), "created"),
    ),
    (
        lists.Sort("name", _("Name"), ("name", "id")),
        lists.Sort("newest", _("Newest first"), ("-created_at", "-id")),
        lists.Sort("oldest", _("Oldest first"), ("created_at", "id")),
    ),
)


@login_required
@require_safe
def accounts(request: HttpRequest) -> HttpResponse:
    return render_list(request, "customers/accounts.html", COMPANIES, Account.objects.all())


@login_required
@require_safe
def accounts_export(request: HttpRequest) -> HttpResponseBase:
    check_reader(request.user)  # type: ignore[arg-type]
    policy = restricted.policy(request.user)  # type: ignore[arg-type]
    state = lists.read(COMPANIES, request.GET, Account.objects.all(), policy)
    return export_response("accounts", state.rows, request.GET.get("format", "csv"), policy)
