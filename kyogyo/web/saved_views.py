"""Saving, renaming and deleting a list's saved views (shown above each list): through
``web/actions.py``; every answer goes back to the list it came from."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kyogyo.org import access
from kyogyo.web import actions
from kyogyo.web.bulk import back_to
from kyogyo.web.listpage import check_reader
from kyogyo.web.models import SavedView
from kyogyo.web.refusals import refusal_message

LIST_URLS = {
    SavedView.ListName.PEOPLE: "customers:contacts",
    SavedView.ListName.COMPANIES: "customers:accounts",
    SavedView.ListName.DEALS: "deals:list",
    SavedView.ListName.HANDOFFS: "handoffs:list",
}


def _list_url(list_name: str) -> str:
    name = LIST_URLS.get(list_name)  # type: ignore[call-overload]
    return reverse(name) if name else reverse("web:home")


@login_required
@require_POST
def create(request: HttpRequest) -> HttpResponse:
    check_reader(request.user)  # type: ignore[arg-type]
    list_name = request.POST.get("list_name", "")
    back = back_to(request, _list_url(list_name))
    try:
        view = actions.save_view(
            owner=request.user,  # type: ignore[arg-type]
            list_name=list_name,
            name=request.POST.get("name", ""),
            query=request.POST.get("query", ""),
            shared=request.POST.get("shared") == "1",
        )
    except actions.SavedViewError as exc:
        messages.error(request, refusal_message(exc))
        return redirect(back)
    messages.success(request, _("The view “%(name)s” is saved.") % {"name": view.name})
    return redirect(f"{_list_url(view.list_name)}?{view.query}")


@login_required
@require_POST
def change(request: HttpRequest, pk: int) -> HttpResponse:
    check_reader(request.user)  # type: ignore[arg-type]
    view = SavedView.objects.filter(pk=pk).first()
    if view is None or not (view.shared or view.owner_id == request.user.pk):
        raise Http404
    if not access.can_change_saved_view(request.user, view):  # type: ignore[arg-type]
        raise PermissionDenied(_("Only the person who saved a view (or an admin) changes it."))
    back = back_to(request, _list_url(view.list_name))
    try:
        if request.POST.get("do") == "delete":
            actions.delete_view(view, actor=request.user)  # type: ignore[arg-type]
            messages.success(request, _("The view “%(name)s” is deleted.") % {"name": view.name})
        else:
            actions.rename_view(
                view,
                actor=request.user,  # type: ignore[arg-type]
                name=request.POST.get("name", ""),
                shared=request.POST.get("shared") == "1",
            )
            messages.success(request, _("The view is renamed to “%(name)s”.") % {"name": view.name})
    except actions.SavedViewError as exc:
        messages.error(request, refusal_message(exc))
    return redirect(back)
