"""What every list page does around its own rows: who may open it, the filters, the page,
the saved views above it and the bulk actions offered — so each list view only says which
rows, which filters and which template."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from kyogyo.org import access, restricted
from kyogyo.org.models import User
from kyogyo.web import lists
from kyogyo.web.models import SavedView

MAX_SELECTED = 100  # rows a bulk action takes at once
MAX_SAVED_VIEWS = 50


def check_reader(user: User) -> None:
    if not access.can_read_records(user):
        raise PermissionDenied


def saved_views(user: User, list_name: str) -> list[SavedView]:
    """The reader's own views of this list and the ones others share, names first."""
    views = list(
        SavedView.objects.filter(Q(owner=user) | Q(shared=True), list_name=list_name)
        .select_related("owner")
        .order_by("name", "id")[:MAX_SAVED_VIEWS]
    )
    for view in views:
        view.can_change = access.can_change_saved_view(user, view)  # type: ignore[attr-defined]
    return views


def render_list(
    request: HttpRequest,
    template: str,
    spec: lists.ListSpec,
    rows: QuerySet[Any],
    decorate: Callable[[list[Any]], list[Any]] | None = None,
    **context: Any,
) -> HttpResponse:
    """``decorate`` turns the page's records into what the rows show (e.g. a countdown)."""
    user: User = request.user  # type: ignore[assignment]
    check_reader(user)
    policy = restricted.policy(user)
    state = lists.page_of(request, lists.read(spec, request.GET, rows, policy))
    if state.page is not None:
        items = policy.mask_all(state.page.items)
        state.page = replace(state.page, items=decorate(items) if decorate is not None else items)
    context.update(
        state=state,
        page=state.page,
        saved_views=saved_views(user, spec.name),
        list_name=spec.name,
        current_query=lists.saved_query(request.GET),
        max_selected=MAX_SELECTED,
    )
    return render(request, template, context)
