"""The search in the header: people by name or email, companies by name or domain, deals by
name — each a prefix match on a lower-case index (kyogyo/web/indexes.py), a few of each, so
it answers in the same time at a thousand or a million people."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from kyogyo.customers.list_views import COMPANY_COLUMNS, company_match
from kyogyo.customers.models import Account, Contact
from kyogyo.deals.list_views import name_match
from kyogyo.deals.models import Deal
from kyogyo.org import restricted
from kyogyo.org.restricted import Policy
from kyogyo.web import lists
from kyogyo.web.listpage import check_reader
from kyogyo.web.lists import PERSON_COLUMNS

PER_KIND = 10


def search_all(text: str, policy: Policy) -> dict[str, list[Any]]:
    """Up to ``PER_KIND`` of each kind (one more is read, to say there are more); a value
    the reader may not see (``policy``) is never matched on, and is masked in what is shown."""
    people = _matching(
        policy, Contact.objects.select_related("account"), text, lists.person_match, PERSON_COLUMNS
    )
    companies = _matching(policy, Account.objects.all(), text, company_match, COMPANY_COLUMNS)
    deals = _matching(policy, Deal.objects.select_related("account"), text, name_match, ("name",))
    return {
        "people": policy.mask_all(people.order_by("id")[: PER_KIND + 1]),
        "companies": policy.mask_all(companies.order_by("name", "id")[: PER_KIND + 1]),
        "deals": policy.mask_all(deals.order_by("-created_at", "-id")[: PER_KIND + 1]),
    }


def _matching(
    policy: Policy,
    rows: QuerySet[Any],
    text: str,
    match: Callable[..., QuerySet[Any]],
    columns: Sequence[str],
) -> QuerySet[Any]:
    rows, visible = policy.visible_rows(rows, columns)
    return match(rows, text, visible) if visible else rows.none()


@login_required
@require_safe
def search(request: HttpRequest) -> HttpResponse:
    check_reader(request.user)  # type: ignore[arg-type]
    text = request.GET.get("q", "").strip()[: lists.MAX_TEXT]
    context: dict[str, Any] = {"q": text, "too_short": 0 < len(text) < lists.MIN_SEARCH, "per_kind": PER_KIND}
    if len(text) >= lists.MIN_SEARCH:
        found = search_all(text, restricted.policy(request.user))  # type: ignore[arg-type]
        context["results"] = {kind: rows[:PER_KIND] for kind, rows in found.items()}
        context["more"] = {kind: len(rows) > PER_KIND for kind, rows in found.items()}
        context["nothing"] = not any(found.values())
    return render(request, "web/search.html", context)
