"""Bulk actions of the list pages in two steps: the selection is shown back with the number
of rows chosen and how many of them the reader may change (counted on the server, from
``org/access.py``), then — once confirmed — the app's bulk action runs and every refused
row is listed with the reason in the reader's words."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpRequest, QueryDict
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.functional import Promise
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from kyogyo.org.bulk import BulkResult
from kyogyo.org.models import User
from kyogyo.web.listpage import MAX_SELECTED, check_reader
from kyogyo.web.lists import BadValue
from kyogyo.web.refusals import refusal_message


@dataclass(frozen=True)
class BulkAction:
    key: str
    label: str | Promise
    allowed: Callable[[User, Any], bool]
    # (records, actor, params) → the outcome; params come from read_params
    run: Callable[[Sequence[Any], User, dict[str, Any]], BulkResult]
    read_params: Callable[[QueryDict], dict[str, Any]] = lambda post: {}
    fields: tuple[str, ...] = ()  # the POST fields read_params reads, carried to the confirmation
    # what the confirmation says of the params: (a translated label, the data it names)
    describe: Callable[[dict[str, Any]], tuple[str, str] | None] = lambda params: None
    extra: dict[str, Any] = field(default_factory=dict)


def selected_ids(post: QueryDict) -> list[int]:
    ids = []
    for raw in post.getlist("ids"):
        if raw.isdigit() and int(raw) not in ids:
            ids.append(int(raw))
    return ids


def back_to(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}):
        return target
    return fallback


def handle(
    request: HttpRequest,
    *,
    actions: Sequence[BulkAction],
    rows: QuerySet[Any],
    name_of: Callable[[Any], str],
    list_url: str,
    export: Callable[[QuerySet[Any], str], HttpResponseBase] | None = None,
) -> HttpResponseBase:
    user: User = request.user  # type: ignore[assignment]
    check_reader(user)
    back = back_to(request, list_url)
    ids = selected_ids(request.POST)
    if not ids:
        messages.error(request, _("Select at least one row first."))
        return redirect(back)
    if len(ids) > MAX_SELECTED:
        messages.error(request, _("Select at most %(count)d rows at a time.") % {"count": MAX_SELECTED})
        return redirect(back)
    key = request.POST.get("action", "")
    chosen = rows.filter(pk__in=ids)
    if export is not None and key in ("export_csv", "export_xlsx"):
        return export(chosen, key.removeprefix("export_"))
    action = next((a for a in actions if a.key == key), None)
    if action is None:
        messages.error(request, _("Choose one of the listed actions."))
        return redirect(back)
    try:
        params = action.read_params(request.POST)
    except BadValue as exc:
        messages.error(request, str(exc))
        return redirect(back)
    records = list(chosen)
    context: dict[str, Any] = {
        "action": action,
        "params": {name: request.POST.get(name, "") for name in action.fields},
        "detail": action.describe(params),
        "ids": [r.pk for r in records],
        "next": back,
    }
    if request.POST.get("confirmed") != "1":
        denied = [name_of(r) for r in records if not action.allowed(user, r)]
        context.update(count=len(records), allowed=len(records) - len(denied), denied=denied)
        return render(request, "web/bulk_confirm.html", context)
    try:
        result = action.run(records, user, params)
    except ValueError as exc:  # the whole action refused (e.g. an owner who cannot own records)
        messages.error(request, refusal_message(exc))
        return redirect(back)
    refused = [(name_of(r.record), refusal_message(_Coded(r.code, r.message))) for r in result.refused]
    context.update(done=len(result.done), refused=refused)
    return render(request, "web/bulk_done.html", context)


@dataclass
class _Coded(Exception):
    code: str
    message: str

    def __str__(self) -> str:
        return self.message
