"""The pipeline board and each deal's page. Thin: the board's data comes from
``deals.board``, every change from ``deals.actions`` (the same as the API), who may do what
from ``org.access``; a refusal is said in the reader's words (``web.refusals``).

The board's drag and drop (``deals/static/deals/pipeline.js``) posts the same forms the
cards hold for keyboard use; it asks for JSON (``Accept: application/json``) and gets the
outcome and the new column totals, a plain post is redirected back with a message."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST, require_safe

from kyogyo.audit import history
from kyogyo.deals import actions, board
from kyogyo.deals.board_forms import BoardFilterForm, DealForm, LoseForm
from kyogyo.deals.models import Deal, PipelineStage
from kyogyo.journey.machine import JourneyError
from kyogyo.journey.models import ReasonCode
from kyogyo.org import access, restricted
from kyogyo.org.models import User
from kyogyo.web import paging
from kyogyo.web.refusals import refusal_message
from kyogyo.web.templatetags.web import local_name, money, number

COLUMN_PAGE = 50
CONTACTS_SHOWN = 10
MOVES_SHOWN = 50
HISTORY_SHOWN = 20  # the deal's latest changes (who, what, through which path)


# --- lookups with access ------------------------------------------------------------------


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _readable(user: User, pk: int) -> Deal:
    if not access.can_read_records(user):
        raise Http404
    found = (
        Deal.objects.select_related(
            "account",
            "owner",
            "owner__team",
            "pipeline_stage",
            "loss_reason",
            "campaign",
            "contact__milestone__current_stage",
        )
        .filter(pk=pk)
        .first()
    )
    if found is None:
        raise Http404
    return found


def _to_change(user: User, pk: int) -> Deal:
    deal = _readable(user, pk)
    if not access.can_edit_deal(user, deal):
        raise PermissionDenied(
            _("Only the deal's owner, the owner's team or a manager can change this deal.")
        )
    return deal


def _expected_version(request: HttpRequest) -> int | None:
    raw = request.POST.get("version", "")
    return int(raw) if raw.isdigit() and len(raw) < 10 else None


# --- answers to a change ------------------------------------------------------------------


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _back(request: HttpRequest, deal: Deal) -> HttpResponse:
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        target = reverse("deals:deal", args=[deal.pk])
    return redirect(target)


def _board_filters(request: HttpRequest) -> board.Filters:
    """The filters of the board the move was made on (its query string), for its totals."""
    return BoardFilterForm(QueryDict(request.POST.get("board_query", "").lstrip("?"))).filters()


def _shown_totals(user: User, filters: board.Filters, now: dt.datetime) -> dict[str, dict[str, str]]:
    hidden = restricted.policy(user).always_hidden(Deal, "amount")
    return {
        key: {
            "count": number(row["count"]),
            "amount": str(restricted.masked_value()) if hidden else money(row["amount"]),
            "stalled": number(row["stalled"]),
        }
        for key, row in board.column_totals(filters, now).items()
    }


def _refused(request: HttpRequest, deal: Deal, error: Exception) -> HttpResponse:
    message = refusal_message(error)
    if _wants_json(request):
        return JsonResponse({"ok": False, "code": getattr(error, "code", ""), "message": message}, status=409)
    messages.error(request, message)
    return _back(request, deal)


def _done(request: HttpRequest, deal: Deal, message: str) -> HttpResponse:
    if _wants_json(request):
        now = timezone.now()
        return JsonResponse(
            {
                "ok": True,
                "message": message,
                "version": deal.version,
                "stage": deal.pipeline_stage.key,
                "status": deal.status,
                "columns": _shown_totals(_user(request), _board_filters(request), now),
                "days": ngettext("%(days)s day in stage", "%(days)s days in stage", 0) % {"days": 0},
            }
        )
    messages.success(request, message)
    return _back(request, deal)


# --- the board ----------------------------------------------------------------------------


@login_required
@require_safe
def pipeline(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not access.can_read_records(user):
        raise PermissionDenied(_("Only members of a team can see the pipeline."))
    form = BoardFilterForm(request.GET)
    filters = form.filters()
    now = timezone.now()
    context: dict[str, Any] = {"form": form, "now": now, "loss_reasons": _loss_reasons()}
    stage = PipelineStage.objects.filter(
        key=request.GET.get("stage", ""), is_won=False, is_lost=False
    ).first()
    if stage is not None:
        return render(
            request, "deals/pipeline_column.html", {**context, **_one_column(request, stage, filters)}
        )
    context["board"] = board.board(user, filters, now)
    context["cards_per_column"] = board.CARDS_PER_COLUMN
    return render(request, "deals/pipeline.html", context)


def _one_column(request: HttpRequest, stage: PipelineStage, filters: board.Filters) -> dict[str, Any]:
    """A column on its own, page by page: where a column's "more" link leads."""
    now = timezone.now()
    number_ = paging.page_number(request)
    shown, has_next = board.cards(
        _user(request), board.filtered(filters), stage, now, COLUMN_PAGE, (number_ - 1) * COLUMN_PAGE
    )
    page = paging.Page(items=shown, number=number_, per_page=COLUMN_PAGE, has_next=has_next)
    return {
        "stage": stage,
        "page": page,
        "open_stages": _open_stages(),
        "won_stage": PipelineStage.objects.filter(is_won=True).order_by("order").first(),
        "lost_stage": PipelineStage.objects.filter(is_lost=True).order_by("order").first(),
    }


def _open_stages() -> list[PipelineStage]:
    return list(PipelineStage.objects.filter(is_won=False, is_lost=False).order_by("order", "key"))


def _loss_reasons() -> list[ReasonCode]:
    return list(ReasonCode.objects.filter(kind=ReasonCode.Kind.LOSS, active=True).order_by("order", "key"))


# --- moves, wins and losses ---------------------------------------------------------------


@login_required
@require_POST
def move(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    deal = _to_change(user, pk)
    stage = PipelineStage.objects.filter(key=request.POST.get("stage", "")).first()
    if stage is None:
        return _refused(request, deal, actions.DealError("unknown_stage", "no such pipeline stage"))
    if stage.is_closed and not _wants_json(request):
        # The keyboard path to Won or Lost: the deal page's forms ask what closing needs.
        return redirect(reverse("deals:deal", args=[deal.pk]) + "#close")
    try:
        deal = actions.move_deal(deal, stage, actor=user, expected_version=_expected_version(request))
    except (actions.DealError, JourneyError) as exc:
        return _refused(request, deal, exc)
    return _done(request, deal, _("The deal moved to %(stage)s.") % {"stage": _local(stage)})


@login_required
@require_POST
def win(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    deal = _to_change(user, pk)
    try:
        deal = actions.win_deal(deal, actor=user, expected_version=_expected_version(request))
    except (actions.DealError, JourneyError) as exc:
        return _refused(request, deal, exc)
    return _done(request, deal, _("The deal is won."))


@login_required
@require_POST
def lose(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    deal = _to_change(user, pk)
    form = LoseForm(request.POST)
    if not form.is_valid():
        return _refused(request, deal, actions.DealError("loss_reason_required", "a loss needs a reason"))
    try:
        deal = actions.lose_deal(
            deal,
            actor=user,
            reason=form.cleaned_data["reason"],
            note=form.cleaned_data["note"],
            expected_version=_expected_version(request),
        )
    except (actions.DealError, JourneyError) as exc:
        return _refused(request, deal, exc)
    return _done(request, deal, _("The deal is lost."))


def _local(stage: PipelineStage) -> str:
    return local_name(stage)


# --- the deal's page ----------------------------------------------------------------------


@login_required
def deal(request: HttpRequest, pk: int) -> HttpResponse:
    """The deal: its fields, history and people; the edit form (a stale save shows the
    current values beside what was typed), move, win and lose."""
    user = _user(request)
    found = _readable(user, pk)
    if request.method == "POST":
        return _save(request, user, pk)
    if request.method not in ("GET", "HEAD"):
        return HttpResponse(status=405)
    return _deal_page(
        request, found, DealForm(instance=found, hidden=restricted.policy(user).hidden_fields(found))
    )


def _form(user: User, deal: Deal, data: Any = None) -> DealForm:
    """The edit form on a fresh copy of the deal, without the fields the reader may not see."""
    hidden = restricted.policy(user).hidden_fields(deal)
    return DealForm(data, instance=Deal.objects.get(pk=deal.pk), hidden=hidden)


def _save(request: HttpRequest, user: User, pk: int) -> HttpResponse:
    current = _to_change(user, pk)
    form = _form(user, current, request.POST)
    if not form.is_valid():
        return _deal_page(request, current, form)
    try:
        actions.update_deal(current, expected_version=form.cleaned_data["version"], **form.values())
    except actions.DealConflict:
        fresh = _readable(user, pk)
        return _deal_page(
            request, fresh, _rebased(request, fresh), conflict=_side_by_side(form, fresh), status=409
        )
    except actions.DealError as exc:
        form.add_error(None, refusal_message(exc))
        return _deal_page(request, current, form)
    messages.success(request, _("The deal is saved."))
    return redirect("deals:deal", pk=pk)


def _rebased(request: HttpRequest, fresh: Deal) -> DealForm:
    """What the person typed, now on the current version: saving it again is deliberate."""
    data = request.POST.copy()
    data["version"] = str(fresh.version)
    form = _form(_user(request), fresh, data)
    form.is_valid()
    return form


def _shown_value(name: str, value: Any) -> str:
    if value is None or value == "":
        return "–"
    if name == "amount":
        return money(value)
    if name == "owner":
        return value.get_full_name() or value.get_username()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _side_by_side(form: DealForm, current: Deal) -> list[dict[str, Any]]:
    """Each field: what the person typed and what the deal holds now."""
    rows = []
    for name in form.editable_names:
        mine = form.cleaned_data.get(name)
        theirs = getattr(current, name)
        if name == "next_step":
            mine = mine or None
        rows.append(
            {
                "label": form.fields[name].label,
                "mine": _shown_value(name, mine),
                "current": _shown_value(name, theirs),
                "differs": mine != theirs,
            }
        )
    return rows


def _deal_page(
    request: HttpRequest,
    deal: Deal,
    form: DealForm,
    *,
    conflict: list[dict[str, Any]] | None = None,
    status: int = 200,
) -> HttpResponse:
    user = _user(request)
    now = timezone.now()
    since = deal.stage_changed_at or deal.created_at
    limit = board.stalled_since(deal.pipeline_stage, now)
    people = []
    if deal.account_id:
        people = list(
            deal.account.contacts.select_related("milestone__current_stage").order_by("id")[:CONTACTS_SHOWN]
        )
    shown = restricted.policy(user)
    context = {
        "deal": shown.mask(deal),
        "form": form,
        "conflict": conflict,
        "conflict_message": refusal_message(actions.DealError("conflict", "")),
        "editable": access.can_edit_deal(user, deal),
        "days_in_stage": max((now - since).days, 0),
        "stalled": deal.status == Deal.Status.OPEN and limit is not None and since < limit,
        "moves": list(deal.moves.select_related("from_stage", "to_stage", "actor")[:MOVES_SHOWN]),
        "people": shown.mask_all(people),
        "open_stages": _open_stages(),
        "loss_reasons": _loss_reasons(),
        "lose_form": LoseForm(),
        "history": history.history_for(deal, limit=HISTORY_SHOWN, policy=shown),
    }
    return render(request, "deals/deal.html", context, status=status)
