"""What a person's and a company's page shows, composed from the apps that keep it: the
timeline, the current stage with its why, the scores explained, the playbook and the next
steps, the open handoff, and who may do what here (asked of ``org/access.py``). Each part
is a bounded query; the views only pick the record and render this."""

from __future__ import annotations

from typing import Any

from django.http import Http404

from kyogyo.audit import history
from kyogyo.customers import timeline
from kyogyo.customers.models import Account, Contact
from kyogyo.deals.actions import QUALIFIED_STAGE
from kyogyo.deals.models import Deal
from kyogyo.handoffs.models import Handoff
from kyogyo.handoffs.queues import QueueItem, with_countdown
from kyogyo.journey import explain, next_steps, playbook
from kyogyo.journey.models import ReasonCode, Stage
from kyogyo.org import access, restricted
from kyogyo.org.models import User
from kyogyo.success.forms import start_for
from kyogyo.success.models import Subscription
from kyogyo.web.workspace import reject_reasons

PEOPLE_SHOWN = 50
DEALS_SHOWN = 10
HISTORY_SHOWN = 20  # the record's latest changes (who, what, through which path)


def readable_contact(user: User, pk: int) -> Contact:
    """The person, or 404 — for an unknown id and for a reader who may not see records alike."""
    if not access.can_read_records(user):
        raise Http404
    found = (
        Contact.objects.select_related(
            "account", "owner", "milestone__current_stage__team", "milestone__current_stage__hands_to"
        )
        .filter(pk=pk)
        .first()
    )
    if found is None:
        raise Http404
    return found


def readable_account(user: User, pk: int) -> Account:
    if not access.can_read_records(user):
        raise Http404
    found = Account.objects.filter(pk=pk).first()
    if found is None:
        raise Http404
    return found


def open_handoff(contact: Contact) -> QueueItem | None:
    found = (
        Handoff.objects.filter(subject=contact, status=Handoff.Status.OPEN)
        .select_related("stage", "from_team", "to_team", "assigned_to", "transition")
        .order_by("-created_at")
        .first()
    )
    return with_countdown([found])[0] if found else None


def disqualify_reasons() -> list[ReasonCode]:
    return list(
        ReasonCode.objects.filter(kind=ReasonCode.Kind.DISQUALIFY, active=True).order_by("order", "key")
    )


def moves_from(stage: Stage | None) -> list[Stage]:
    if stage is None:
        return []
    return list(stage.exits.order_by("order", "key"))


def contact_page(contact: Contact, user: User, cursor: str | None) -> dict[str, Any]:
    milestone = getattr(contact, "milestone", None)  # loaded with the person (readable_contact)
    why = explain.stage_why(contact, milestone)
    stage = milestone.current_stage if milestone else None
    handoff = open_handoff(contact)
    book = playbook.playbook_for(contact, stage, milestone.current_since if milestone else None)
    can_change = access.can_change_contact(user, contact)
    classifying = stage is not None and (stage.is_entry or stage.category == Stage.Category.RECYCLE)
    moves = moves_from(stage) if can_change and not classifying else []
    shown = restricted.policy(user)
    return {
        "contact": shown.mask(contact),
        "why": why,
        "scores": explain.scores(contact),
        "handoff": handoff,
        "can_act_on_handoff": handoff is not None and access.can_act_on_handoff(user, handoff.handoff),
        "reject_reasons": reject_reasons() if handoff else [],
        "playbook": book,
        "next_steps": next_steps.next_steps(contact, why, handoff, book, user),
        "can_change": can_change,
        "can_note": access.can_add_note(user),
        "classifying": classifying,
        "moves": moves,
        "can_qualify": any(s.key == QUALIFIED_STAGE for s in moves),
        "disqualify_reasons": disqualify_reasons() if can_change else [],
        "timeline": timeline.masked(shown, timeline.page_of(timeline.contact_sources(contact), cursor)),
        "history": history.history_for(contact, limit=HISTORY_SHOWN, policy=shown),
        "start": start_for(user, contact=contact),
    }


def account_page(account: Account, user: User, cursor: str | None) -> dict[str, Any]:
    shown = restricted.policy(user)
    people = shown.mask_all(
        Contact.objects.filter(account=account)
        .select_related("milestone__current_stage", "owner")
        .order_by("-last_activity_at", "id")[: PEOPLE_SHOWN + 1]
    )
    return {
        "account": shown.mask(account),
        "people": people[:PEOPLE_SHOWN],
        "people_more": len(people) > PEOPLE_SHOWN,
        "deals": shown.mask_all(
            Deal.objects.filter(account=account)
            .select_related("pipeline_stage", "owner", "contact")
            .order_by("-created_at", "-id")[:DEALS_SHOWN]
        ),
        "subscriptions": list(
            Subscription.objects.filter(account=account).order_by("-starts_on", "-id")[:DEALS_SHOWN]
        ),
        "can_note": access.can_add_note(user),
        "timeline": timeline.masked(shown, timeline.page_of(timeline.account_sources(account), cursor)),
        "history": history.history_for(account, limit=HISTORY_SHOWN, policy=shown),
        "start": start_for(user, account_id=account.pk),
    }
