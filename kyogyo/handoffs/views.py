"""Accepting and rejecting handoffs from the pages (the queue on the home page, the
handoff list): through the same actions as the API, refusals said in the reader's words."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kyogyo.handoffs import actions
from kyogyo.handoffs.models import Handoff
from kyogyo.handoffs.queues import with_countdown
from kyogyo.journey.machine import JourneyError
from kyogyo.journey.models import ReasonCode
from kyogyo.org import access
from kyogyo.org.models import User
from kyogyo.web.refusals import refusal_message
from kyogyo.web.workspace import reject_reasons

MAX_NOTE = 2000


def _to_act_on(user: User, pk: int) -> Handoff:
    """The handoff, if this person may act on it (the queue only offers those: a post for
    another team's handoff is refused outright)."""
    handoff = _readable(user, pk)
    if not access.can_act_on_handoff(user, handoff):
        raise PermissionDenied(_("Only the receiving team or a manager can act on this handoff."))
    return handoff


def _readable(user: User, pk: int) -> Handoff:
    if not access.can_read_records(user):
        raise Http404
    found = (
        Handoff.objects.select_related(
            "subject", "subject__account", "stage", "from_team", "to_team", "assigned_to"
        )
        .filter(pk=pk)
        .first()
    )
    if found is None:
        raise Http404
    return found


def _answer(request: HttpRequest, handoff: Handoff, error: str | None = None) -> HttpResponse:
    """htmx swaps the queue row in place; a plain form post goes back where it came from."""
    if request.htmx:  # type: ignore[attr-defined]
        handoff.refresh_from_db()
        context = {"item": with_countdown([handoff])[0], "reject_reasons": reject_reasons(), "error": error}
        return render(request, "handoffs/_queue_row.html", context)
    if error:
        messages.error(request, error)
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}):
        target = "web:home"
    return redirect(target)


def _note(request: HttpRequest) -> str:
    return request.POST.get("note", "").strip()[:MAX_NOTE]


@login_required
@require_POST
def accept(request: HttpRequest, pk: int) -> HttpResponse:
    handoff = _to_act_on(request.user, pk)  # type: ignore[arg-type]
    try:
        actions.accept_handoff(handoff, actor=request.user, note=_note(request))  # type: ignore[arg-type]
    except (actions.HandoffError, JourneyError) as exc:
        return _answer(request, handoff, refusal_message(exc))
    if not request.htmx:  # type: ignore[attr-defined]
        messages.success(request, _("Handoff accepted."))
    return _answer(request, handoff)


@login_required
@require_POST
def reject(request: HttpRequest, pk: int) -> HttpResponse:
    handoff = _to_act_on(request.user, pk)  # type: ignore[arg-type]
    reason = ReasonCode.objects.filter(
        kind=ReasonCode.Kind.REJECT, active=True, key=request.POST.get("reason", "")
    ).first()
    if reason is None:
        return _answer(request, handoff, _("Choose a reason to reject."))
    try:
        actions.reject_handoff(handoff, actor=request.user, reason=reason, note=_note(request))  # type: ignore[arg-type]
    except (actions.HandoffError, JourneyError) as exc:
        return _answer(request, handoff, refusal_message(exc))
    if not request.htmx:  # type: ignore[attr-defined]
        messages.success(request, _("Handoff rejected."))
    return _answer(request, handoff)
