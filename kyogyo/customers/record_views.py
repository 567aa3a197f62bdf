"""Each person's and company's page: one timeline across the four teams, the stage and its
why, the playbook, and the actions of the page (note, move or classify, tick a check; the
handoff's accept and reject post to the handoffs views). Thin: the record pages module
composes what is shown, the actions decide and refuse."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from kyogyo.customers import notes, record_pages
from kyogyo.customers.models import Account, Contact
from kyogyo.journey import actions as journey
from kyogyo.journey.machine import JourneyError
from kyogyo.journey.models import PlaybookItem, ReasonCode, Stage
from kyogyo.journey.playbook import PlaybookError, tick_check
from kyogyo.org import access
from kyogyo.org.models import User
from kyogyo.web.refusals import refusal_message
from kyogyo.web.templatetags.web import local_name

MAX_NOTE_FIELD = 10_000  # what is read of a posted field; the actions refuse what is too long


def _cursor(request: HttpRequest) -> str | None:
    return request.GET.get("before") or None


def _render_contact(
    request: HttpRequest, contact: Contact, status: int = 200, **extra: object
) -> HttpResponse:
    context = record_pages.contact_page(contact, request.user, _cursor(request))  # type: ignore[arg-type]
    return render(request, "customers/record_contact.html", {**context, **extra}, status=status)


def _render_account(
    request: HttpRequest, account: Account, status: int = 200, **extra: object
) -> HttpResponse:
    context = record_pages.account_page(account, request.user, _cursor(request))  # type: ignore[arg-type]
    return render(request, "customers/record_account.html", {**context, **extra}, status=status)


@login_required
@require_safe
def contact(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_contact(request, record_pages.readable_contact(request.user, pk))  # type: ignore[arg-type]


@login_required
@require_safe
def account(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_account(request, record_pages.readable_account(request.user, pk))  # type: ignore[arg-type]


def _note_body(request: HttpRequest) -> str:
    return request.POST.get("body", "")[:MAX_NOTE_FIELD]


@login_required
@require_POST
def contact_note(request: HttpRequest, pk: int) -> HttpResponse:
    person = record_pages.readable_contact(request.user, pk)  # type: ignore[arg-type]
    body = _note_body(request)
    try:
        notes.add_note(author=request.user, body=body, contact=person)  # type: ignore[arg-type]
    except notes.NoteError as exc:
        return _render_contact(request, person, 400, note_error=refusal_message(exc), note_body=body)
    messages.success(request, _("Note added."))
    return redirect(reverse("customers:contact", args=[person.pk]) + "#timeline")


@login_required
@require_POST
def account_note(request: HttpRequest, pk: int) -> HttpResponse:
    company = record_pages.readable_account(request.user, pk)  # type: ignore[arg-type]
    body = _note_body(request)
    try:
        notes.add_note(author=request.user, body=body, account=company)  # type: ignore[arg-type]
    except notes.NoteError as exc:
        return _render_account(request, company, 400, note_error=refusal_message(exc), note_body=body)
    messages.success(request, _("Note added."))
    return redirect(reverse("customers:account", args=[company.pk]) + "#timeline")


def _changeable(user: User, pk: int) -> Contact:
    person = record_pages.readable_contact(user, pk)
    if not access.can_change_contact(user, person):
        raise PermissionDenied(
            _("Only the team working this person, their owner or a manager moves them on.")
        )
    return person


def _disqualify_reason(request: HttpRequest) -> ReasonCode | None:
    key = request.POST.get("reason", "")
    if not key:
        return None
    return ReasonCode.objects.filter(kind=ReasonCode.Kind.DISQUALIFY, active=True, key=key).first()


@login_required
@require_POST
def contact_move(request: HttpRequest, pk: int) -> HttpResponse:
    """Classify (now / later / never) or move to one of the stage's exits, through the
    journey's actions; a refusal is said in the reader's words."""
    person = _changeable(request.user, pk)  # type: ignore[arg-type]
    user: User = request.user  # type: ignore[assignment]
    reason = _disqualify_reason(request)
    note = request.POST.get("note", "").strip()[:MAX_NOTE_FIELD]
    current = person.milestone.current_stage.key if getattr(person, "milestone", None) else None
    try:
        if "verdict" in request.POST:
            moved = journey.classify(person, request.POST["verdict"], actor=user, reason=reason, note=note)
        else:
            moved = journey.advance(
                person,
                request.POST.get("to", ""),
                actor=user,
                reason=reason,
                note=note,
                expect_current=current,
            )
    except JourneyError as exc:
        messages.error(request, refusal_message(exc))
    else:
        stage = Stage.objects.get(pk=moved.to_stage_id)
        messages.success(request, _("Moved to %(stage)s.") % {"stage": local_name(stage)})
    return redirect(reverse("customers:contact", args=[person.pk]) + "#stage")


@login_required
@require_POST
def contact_check(request: HttpRequest, pk: int, item: int) -> HttpResponse:
    person = _changeable(request.user, pk)  # type: ignore[arg-type]
    check = get_object_or_404(PlaybookItem, pk=item)
    try:
        tick_check(person, check, actor=request.user, done=request.POST.get("done") == "1")  # type: ignore[arg-type]
    except PlaybookError as exc:
        messages.error(request, refusal_message(exc))
    return redirect(reverse("customers:contact", args=[person.pk]) + "#checklist")
