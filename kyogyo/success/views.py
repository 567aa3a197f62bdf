"""The Customer Success pages: overview, renewals, churn risk, NPS, MRR movements and each
subscription. Thin: the figures come from the analytics reports (``success/numbers.py``),
the lists from ``success/pages.py``, every change from ``success/actions.py``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from kyogyo.customers.models import Contact
from kyogyo.journey.machine import JourneyError
from kyogyo.org import access
from kyogyo.org.models import User
from kyogyo.success import actions, figures, numbers, onboarding, pages, renewals
from kyogyo.success.forms import (
    ChangeMrrForm,
    DatedForm,
    HandBackForm,
    NpsFilterForm,
    filtered_nps,
    start_form,
)
from kyogyo.success.models import Subscription, SubscriptionChange
from kyogyo.web.paging import Page, page_number, paginate
from kyogyo.web.refusals import refusal_message

RISK_PER_PAGE = 25


def _reader(request: HttpRequest) -> User:
    user: User = request.user  # type: ignore[assignment]
    if not access.can_read_records(user):
        raise PermissionDenied
    return user


@login_required
@require_safe
def home(request: HttpRequest) -> HttpResponse:
    user = _reader(request)
    can_change = access.can_change_subscription(user)
    found, more = onboarding.preview()
    context: dict = {
        "empty": not pages.has_subscriptions(),
        "can_change": can_change,
        "new_customers": start_rows(found, can_change),
        "new_customers_more": more,
    }
    if not context["empty"]:
        saas = numbers.saas()
        health = numbers.health(limit=pages.RISK_PREVIEW)
        context.update(
            saas=saas,
            current=saas.periods[-1] if saas and saas.periods else None,
            figure=figures.mrr_movements(saas) if saas else None,
            window_url=figures.movements_url(None, saas.total["from"], saas.total["to"]) if saas else "",
            health=health,
            risk=pages.with_subscriptions(health["accounts"]),
            renewals=pages.soonest_renewals(renewals.DEFAULT_DAYS, pages.RENEWAL_PREVIEW),
            nps=numbers.nps(),
            answers=filtered_nps(NpsFilterForm({}))[: pages.NPS_PREVIEW],
        )
    return render(request, "success/home.html", context)


@login_required
@require_safe
def renewals_calendar(request: HttpRequest) -> HttpResponse:
    _reader(request)
    grain = "week" if request.GET.get("grain") == "week" else "month"
    owners = User.objects.filter(is_active=True, team__isnull=False).order_by("username")
    owner = owners.filter(pk=request.GET["owner"]).first() if request.GET.get("owner", "").isdigit() else None
    days = renewals.DEFAULT_DAYS
    if request.GET.get("days", "").isdigit():
        days = min(max(int(request.GET["days"]), 1), renewals.MAX_DAYS)
    found = pages.upcoming_renewals(days, owner)
    context = {
        "grain": grain,
        "owners": owners,
        "owner": owner,
        "days": days,
        "groups": renewals.grouped(found, grain),
        "total": sum(r.subscription.mrr for r in found),
        "count": len(found),
        "week_end": dt.timedelta(days=6),
    }
    return render(request, "success/renewals.html", context)


@login_required
@require_safe
def risk(request: HttpRequest) -> HttpResponse:
    _reader(request)
    sort = request.GET.get("sort", "score")
    sort = sort if sort in pages.RISK_SORTS else "score"
    number = page_number(request)
    rows: list[dict] = []
    has_next, data = False, None
    if pages.has_subscriptions():
        rows, has_next, data = pages.risk_rows(number, RISK_PER_PAGE, sort)
    page = Page(items=rows, number=number, per_page=RISK_PER_PAGE, has_next=has_next)
    context = {
        "page": page,
        "sort": sort,
        "health": data,
        "can_change": access.can_change_subscription(request.user),  # type: ignore[arg-type]
    }
    return render(request, "success/risk.html", context)


@login_required
@require_safe
def nps(request: HttpRequest) -> HttpResponse:
    user = _reader(request)
    form = NpsFilterForm(request.GET or None)
    answers = paginate(request, filtered_nps(form))
    context = {
        "form": form,
        "page": answers,
        "report": numbers.nps() if answers.items or request.GET else None,
        "figure": figures.nps_distribution(pages.score_counts()),
        "can_record": access.can_record_nps(user),
    }
    return render(request, "success/nps.html", context)


@login_required
@require_safe
def movements(request: HttpRequest) -> HttpResponse:
    """The recorded MRR changes behind a chart bar or a figure: by kind and day range."""
    _reader(request)
    rows = SubscriptionChange.objects.select_related("subscription", "subscription__account").order_by(
        "-occurred_on", "-id"
    )
    kind = request.GET.get("kind", "")
    if kind in SubscriptionChange.Kind.values:
        rows = rows.filter(kind=kind)
    start, end = _day(request.GET.get("from")), _day(request.GET.get("to"))
    if start:
        rows = rows.filter(occurred_on__gte=start)
    if end:
        rows = rows.filter(occurred_on__lte=end)
    context = {
        "page": paginate(request, rows),
        "kind": kind if kind in SubscriptionChange.Kind.values else "",
        "kinds": SubscriptionChange.Kind.choices,
        "start": start,
        "end": end,
    }
    return render(request, "success/movements.html", context)


def _day(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text or "")
    except ValueError:
        return None


def _subscription(pk: int) -> Subscription:
    return get_object_or_404(Subscription.objects.select_related("account", "deal", "deal__contact"), pk=pk)


def _subscription_page(
    request: HttpRequest, subscription: Subscription, forms: dict | None = None, status: int = 200
) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    changes = pages.history(subscription)
    today = pages.today()
    context = {
        "subscription": subscription,
        "changes": changes,
        "figure": pages.mrr_history_figure(changes, _("MRR")),
        "health": pages.account_health(subscription),
        "can_change": access.can_change_subscription(user, subscription),
        "next_renewal": renewals.next_renewal(subscription, today),
        "mrr_form": ChangeMrrForm(initial={"on": today, "mrr": subscription.mrr or None}),
        "renew_form": DatedForm(initial={"on": today}, prefix="renew"),
        "churn_form": DatedForm(initial={"on": today}, prefix="churn"),
        "hand_back_form": HandBackForm(prefix="expansion"),
        "handbacks": pages.handbacks(subscription),
        **(forms or {}),
    }
    return render(request, "success/subscription.html", context, status=status)


@login_required
@require_safe
def subscription(request: HttpRequest, pk: int) -> HttpResponse:
    _reader(request)
    return _subscription_page(request, _subscription(pk))


def _changer(request: HttpRequest, pk: int) -> tuple[User, Subscription]:
    user = _reader(request)
    found = _subscription(pk)
    if not access.can_change_subscription(user, found):
        raise PermissionDenied(_("Only Customer Success or a manager can change subscriptions."))
    return user, found


def _subject(subscription: Subscription):  # type: ignore[no-untyped-def]
    """Whose journey moves with the subscription: the person of the deal it was won with."""
    return subscription.deal.contact if subscription.deal else None


def _done(request: HttpRequest, subscription: Subscription, message: str) -> HttpResponse:
    messages.success(request, message)
    return redirect("success:subscription", pk=subscription.pk)


def _refused(request: HttpRequest, subscription: Subscription, exc: Exception, forms: dict) -> HttpResponse:
    messages.error(request, refusal_message(exc))
    return _subscription_page(request, subscription, forms, status=400)


@login_required
@require_POST
def change_mrr(request: HttpRequest, pk: int) -> HttpResponse:
    user, found = _changer(request, pk)
    return _act(
        request,
        found,
        ChangeMrrForm(request.POST),
        "mrr_form",
        lambda data: actions.change_mrr(
            found, data["mrr"], on=data["on"], subject=_subject(found), actor=user
        ),
        _("The MRR is changed."),
    )


@login_required
@require_POST
def renew(request: HttpRequest, pk: int) -> HttpResponse:
    user, found = _changer(request, pk)
    return _act(
        request,
        found,
        DatedForm(request.POST, prefix="renew"),
        "renew_form",
        lambda data: actions.renew(found, on=data["on"], subject=_subject(found), actor=user),
        _("The renewal is recorded."),
    )


@login_required
@require_POST
def churn(request: HttpRequest, pk: int) -> HttpResponse:
    user, found = _changer(request, pk)
    return _act(
        request,
        found,
        DatedForm(request.POST, prefix="churn"),
        "churn_form",
        lambda data: actions.churn(found, on=data["on"], subject=_subject(found), actor=user),
        _("The churn is recorded."),
    )


@login_required
@require_POST
def hand_back(request: HttpRequest, pk: int) -> HttpResponse:
    user, found = _changer(request, pk)
    return _act(
        request,
        found,
        HandBackForm(request.POST, prefix="expansion"),
        "hand_back_form",
        lambda data: actions.hand_back_expansion(found, by=user, note=data["note"], amount=data["amount"]),
        _("The expansion is handed to Field Sales."),
    )


def _act(request: HttpRequest, found: Any, form: Any, key: str, do: Any, done: str) -> HttpResponse:
    """A subscription form: invalid or refused → the page again (400) with the form as typed;
    done → back to the page with ``done`` said."""
    if not form.is_valid():
        return _subscription_page(request, found, {key: form}, status=400)
    try:
        do(form.cleaned_data)
    except (actions.SubscriptionError, JourneyError) as exc:
        return _refused(request, found, exc, {key: form})
    return _done(request, found, done)


# --- new customers: starting their subscription ------------------------------------------


def start_rows(customers: list[onboarding.NewCustomer], with_forms: bool) -> list[dict[str, Any]]:
    return [{"customer": c, "form": start_form(c) if with_forms else None} for c in customers]


@login_required
@require_safe
def new_customers(request: HttpRequest) -> HttpResponse:
    """Every new customer waiting for a subscription, longest waiting first, paged."""
    user = _reader(request)
    can_change = access.can_change_subscription(user)
    number = page_number(request)
    found, has_next = onboarding.page(number)
    context = {
        "page": Page(
            items=start_rows(found, can_change),
            number=number,
            per_page=onboarding.PER_PAGE,
            has_next=has_next,
        ),
        "can_change": can_change,
    }
    return render(request, "success/onboarding.html", context)


def _starter(request: HttpRequest, pk: int) -> tuple[User, Contact]:
    user = _reader(request)
    if not access.can_change_subscription(user):
        raise PermissionDenied(_("Only Customer Success or a manager can start subscriptions."))
    contact = get_object_or_404(Contact.objects.select_related("account"), pk=pk)
    return user, contact


def _start_page(
    request: HttpRequest,
    contact: Contact,
    customer: onboarding.NewCustomer | None,
    form: Any,
    status: int = 200,
) -> HttpResponse:
    subscribed = None
    if customer is None and contact.account_id is not None:
        subscribed = contact.account.subscriptions.filter(status=Subscription.Status.ACTIVE).first()  # type: ignore[union-attr]
    context = {"contact": contact, "customer": customer, "form": form, "subscribed": subscribed}
    return render(request, "success/start.html", context, status=status)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def start_subscription(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the start form of a new customer; POST: start it (``start_first_subscription``),
    then show the subscription. Invalid or refused: the page again (400), as typed."""
    contact = _starter(request, pk)[1]
    customer = onboarding.of_contact(contact)
    if request.method != "POST":
        return _start_page(request, contact, customer, start_form(customer) if customer else None)
    if customer is None:
        messages.error(request, refusal_message(actions.SubscriptionError("not_onboarding", "")))
        return _start_page(request, contact, None, None, status=400)
    form = start_form(customer, request.POST)
    if not form.is_valid():
        return _start_page(request, contact, customer, form, status=400)
    data = form.cleaned_data
    try:
        started = actions.start_first_subscription(
            contact,
            plan=data["plan"],
            mrr=data["mrr"],
            starts_on=data["starts_on"],
            currency=data["currency"],
            billing_period=data["billing_period"],
            deal=customer.deal,
        )
    except actions.SubscriptionError as exc:
        messages.error(request, refusal_message(exc))
        return _start_page(request, contact, onboarding.of_contact(contact), form, status=400)
    messages.success(
        request,
        _(
            "The subscription of %(company)s is started: it is in the renewals and MRR movements"
            " now, and in the MRR figures after the next snapshot refresh."
        )
        % {"company": started.account.name},
    )
    return redirect("success:subscription", pk=started.pk)
