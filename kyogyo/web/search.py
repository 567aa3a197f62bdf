"""The search in the header: people by name or email, companies by name or domain, deals by
name — each a prefix match on a lower-case index (kyogyo/web/indexes.py), a few of each, so
it answers in the same time at a thousand or a million people."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from kyogyo.customers.list_views import company_match
from kyogyo.customers.models import Account, Contact
from kyogyo.deals.list_views import name_match
from kyogyo.deals.models import Deal
from kyogyo.web import lists
from kyogyo.web.listpage import check_reader

PER_KIND = 10


def search_all(text: str) -> dict[str, list[Any]]:
    """Up to ``PER_KIND`` of each kind (one more is read, to say there are more)."""
    people = lists.person_match(Contact.objects.select_related("account"), text).order_by("id")
    companies = company_match(Account.objects.all(), text).order_by("name", "id")
    deals = name_match(Deal.objects.select_related("account"), text).order_by("-created_at", "-id")
    return {
        "people": list(people[: PER_KIND + 1]),
        "companies": list(companies[: PER_KIND + 1]),
        "deals": list(deals[: PER_KIND + 1]),
    }


@login_required
@require_safe
def search(request: HttpRequest) -> HttpResponse:
    check_reader(request.user)  # type: ignore[arg-type]
    text = request.GET.get("q", "").strip()[: lists.MAX_TEXT]
    context: dict[str, Any] = {"q": text, "too_short": 0 < len(text) < lists.MIN_SEARCH, "per_kind": PER_KIND}
    if len(text) >= lists.MIN_SEARCH:
        found = search_all(text)
        context["results"] = {kind: rows[:PER_KIND] for kind, rows in found.items()}
        context["more"] = {kind: len(rows) > PER_KIND for kind, rows in found.items()}
        context["nothing"] = not any(found.values())
    return render(request, "web/search.html", context)
