"""Deals through their life: created when Inside Sales qualifies (SQL), moved along the
pipeline, won (handed to Customer Success) or lost with a reason — "no decision" included.
Each step that changes the journey goes through ``journey.actions.advance``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from kyogyo.audit.context import recorded_as
from kyogyo.customers.models import Contact
from kyogyo.deals.models import Deal, DealMove, PipelineStage
from kyogyo.journey import actions as journey_actions
from kyogyo.journey import rulebook
from kyogyo.journey.machine import StageModel
from kyogyo.journey.models import Milestone, ReasonCode, Transition
from kyogyo.org import access
from kyogyo.org.bulk import BulkResult, Forbidden
from kyogyo.org.models import User

QUALIFIED_STAGE = "sql"
OPPORTUNITY_STAGE = "opportunity"
WON_STAGE = "won"
EDITABLE_FIELDS = {
    "name",
    "amount",
    "currency",
    "probability",
    "expected_close",
    "owner",
    "campaign",
    "next_step",
}


class DealError(ValueError):
    def __init__(self, code: str, message: str):
        self.code = code
        super().__init__(message)


class DealConflict(DealError):
    """Someone else saved the deal since it was read."""

    def __init__(self, current: Deal):
        self.current = current
        super().__init__(
            "conflict",
            f"the deal was changed meanwhile (now version {current.version}); "
            "reload it and apply your change again",
        )


def _validate_money(amount: Any, currency: str) -> None:
    if not isinstance(amount, int) or isinstance(amount, bool) or amount < 0:
        raise DealError("bad_amount", "amount must be a whole, non-negative number of minor units")
    if not (isinstance(currency, str) and len(currency) == 3 and currency.isalpha() and currency.isupper()):
        raise DealError("bad_currency", "currency must be a three-letter ISO 4217 code such as JPY")


def qualify(
    subject: Contact,
    *,
    actor: User | None,
    name: str,
    amount: int,
    currency: str = "JPY",
    expected_close: dt.date | None = None,
    at: dt.datetime | None = None,
    via: str = Transition.Via.USER,
    campaign_id: int | None = None,
    note: str = "",
    external_id: str | None = None,
    stages: StageModel | None = None,
) -> Deal:
    """Inside Sales qualifies a real need: the subject becomes SQL and a deal is opened,
    owned by the Field Sales rep the handoff was routed to. ``external_id`` is the deal's id
    in the system it came from (imports upsert by it)."""
    if subject.account_id is None:
        raise DealError("no_account", "a deal needs the person to belong to a company")
    if not name or len(name) > 200:
        raise DealError("bad_name", "a deal needs a name of at most 200 characters")
    _validate_money(amount, currency)
    at = at or timezone.now()
    first_stage = PipelineStage.objects.filter(is_won=False, is_lost=False).order_by("order").first()
    if first_stage is None:
        raise DealError("no_pipeline", "no open pipeline stage is configured")
    imported = via == Transition.Via.IMPORT
    with transaction.atomic():
        owner_id = actor.pk if actor else None
        if not (imported and _already_passed(subject, QUALIFIED_STAGE, stages)):
            row = journey_actions.advance(
                subject, QUALIFIED_STAGE, via=via, at=at, actor=actor, note=note, stages=stages
            )
            handoff = getattr(row, "handoff", None)
            owner_id = handoff.assigned_to_id if handoff else owner_id
        # An imported deal is a record of its own (found again by its external id), never
        # folded into the person's open one.
        reopened = None if imported else _requalify(subject, name, amount, currency, expected_close, owner_id)
        if reopened is not None:
            return reopened
        return Deal.objects.create(
            name=name,
            account_id=subject.account_id,
            contact=subject,
            amount=amount,
            currency=currency,
            pipeline_stage=first_stage,
            expected_close=expected_close,
            created_at=at,
            stage_changed_at=at,
            owner_id=owner_id,
            campaign_id=campaign_id,
            external_id=external_id or None,
        )


def _requalify(
    subject: Contact,
    name: str,
    amount: int,
    currency: str,
    expected_close: dt.date | None,
    owner_id: int | None,
) -> Deal | None:
    """Qualifying someone whose deal is still open (Field Sales sent it back for more
    information) updates that deal instead of opening a second one."""
    deal = (
        Deal.objects.select_for_update(of=("self",)).filter(contact=subject, status=Deal.Status.OPEN).first()
    )
    if deal is None:
        return None
    deal.name, deal.amount, deal.currency, deal.expected_close = name, amount, currency, expected_close
    deal.owner_id = owner_id
    deal.version += 1
    deal.save(update_fields=["name", "amount", "currency", "expected_close", "owner", "version"])
    return deal


NOT_ACCEPTED = "not_accepted"


def close_after_reject(subject: Contact, *, at: dt.datetime) -> list[Deal]:
    """Field Sales rejected the qualified lead out of the pipeline (to nurture or
    disqualified): its open deals close as lost, "not accepted", so the pipeline stays honest."""
    reason = ReasonCode.objects.filter(kind=ReasonCode.Kind.LOSS, key=NOT_ACCEPTED).first()
    lost_stage = PipelineStage.objects.filter(is_lost=True).order_by("order").first()
    closed = []
    for deal in Deal.objects.select_for_update(of=("self",)).filter(contact=subject, status=Deal.Status.OPEN):
        deal.status, deal.closed_at, deal.loss_reason = Deal.Status.LOST, at, reason
        if lost_stage is not None:
            _record_move(deal, lost_stage, at=at, actor=None)
        deal.version += 1
        deal.save(
            update_fields=[
                "status",
                "closed_at",
                "loss_reason",
                "pipeline_stage",
                "stage_changed_at",
                "version",
            ]
        )
        closed.append(deal)
    return closed


def _already_passed(subject: Contact, stage_key: str, stages: StageModel | None) -> bool:
    """Imported history has the person past ``stage_key`` already: entered before, and no
    move into it from where they are now. (An imported deal then joins the recorded
    journey instead of moving it.)"""
    milestone = Milestone.objects.filter(subject=subject).first()
    if milestone is None or stage_key not in milestone.first_entered:
        return False
    stages = stages or rulebook.load_stage_model()
    return stage_key not in stages.by_id[milestone.current_stage_id].exits


def _in_stage(subject: Contact, stage_key: str) -> bool:
    return Milestone.objects.filter(subject=subject, current_stage__key=stage_key).exists()


def _record_move(deal: Deal, stage: PipelineStage, *, at: dt.datetime, actor: User | None) -> None:
    """Put the deal in ``stage`` (the caller saves it) and log the step for its history;
    staying in the same stage is no step."""
    if deal.pipeline_stage_id == stage.pk:
        return
    DealMove.objects.create(
        deal=deal, from_stage_id=deal.pipeline_stage_id, to_stage=stage, at=at, actor=actor
    )
    deal.pipeline_stage, deal.stage_changed_at = stage, at


def _lock(deal: Deal, expected_version: int | None) -> Deal:
    # No join in the locking query: PostgreSQL re-checks a joined row after waiting, and a
    # pipeline stage changed meanwhile would make the deal seem to vanish.
    locked = Deal.objects.select_for_update().get(pk=deal.pk)
    if expected_version is not None and locked.version != expected_version:
        raise DealConflict(locked)
    return locked


def update_deal(deal: Deal, *, expected_version: int | None = None, **values: Any) -> Deal:
    """Edit a deal's fields; with ``expected_version`` a stale edit raises ``DealConflict``."""
    unknown = sorted(set(values) - EDITABLE_FIELDS)
    if unknown:
        raise DealError("unknown_field", f"cannot edit: {', '.join(unknown)}")
    with transaction.atomic():
        locked = _lock(deal, expected_version)
        for name, value in values.items():
            setattr(locked, name, value)
        _validate_money(locked.amount, locked.currency)
        try:
            locked.full_clean(exclude=["account", "contact", "pipeline_stage", "loss_reason"])
        except ValidationError as exc:
            raise DealError(
                "invalid", "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
            ) from exc
        locked.version += 1
        locked.save()
        return locked


def move_deal(
    deal: Deal,
    stage: PipelineStage,
    *,
    actor: User | None = None,
    expected_version: int | None = None,
    at: dt.datetime | None = None,
) -> Deal:
    """Move an open deal to another open pipeline stage (win and lose have their own actions)."""
    if stage.is_closed:
        raise DealError("use_win_or_lose", "close a deal with win or lose, which record the outcome")
    at = at or timezone.now()
    with transaction.atomic():
        locked = _lock(deal, expected_version)
        if locked.status != Deal.Status.OPEN:
            raise DealError("closed", "the deal is closed")
        _record_move(locked, stage, at=at, actor=actor)
        locked.version += 1
        locked.save(update_fields=["pipeline_stage", "stage_changed_at", "version"])
        return locked


def win_deal(
    deal: Deal,
    *,
    actor: User | None,
    at: dt.datetime | None = None,
    via: str = Transition.Via.USER,
    expected_version: int | None = None,
    stages: StageModel | None = None,
) -> Deal:
    """Contract signed: the deal is won and the customer is handed to Customer Success."""
    at = at or timezone.now()
    won_stage = PipelineStage.objects.filter(is_won=True).order_by("order").first()
    if won_stage is None:
        raise DealError("no_pipeline", "no won pipeline stage is configured")
    with transaction.atomic():
        locked = _lock(deal, expected_version)
        if locked.status != Deal.Status.OPEN:
            raise DealError("closed", "the deal is already closed")
        passed = (
            via == Transition.Via.IMPORT
            and locked.contact is not None
            and _already_passed(locked.contact, WON_STAGE, stages)
        )
        if locked.contact is not None and not passed:
            journey_actions.advance(locked.contact, WON_STAGE, via=via, at=at, actor=actor, stages=stages)
        _record_move(locked, won_stage, at=at, actor=actor)
        locked.status, locked.closed_at = Deal.Status.WON, at
        locked.version += 1
        locked.save(update_fields=["status", "closed_at", "pipeline_stage", "stage_changed_at", "version"])
        return locked


def lose_deal(
    deal: Deal,
    *,
    actor: User | None,
    reason: ReasonCode,
    at: dt.datetime | None = None,
    via: str = Transition.Via.USER,
    expected_version: int | None = None,
    note: str = "",
    stages: StageModel | None = None,
) -> Deal:
    """The deal is lost — to a competitor, on price, or to "no decision" — and the person goes
    where the loss reason says (nurture by default)."""
    if reason.kind != ReasonCode.Kind.LOSS:
        raise DealError("bad_reason", f"{reason.key!r} is not a loss reason")
    at = at or timezone.now()
    lost_stage = PipelineStage.objects.filter(is_lost=True).order_by("order").first()
    if lost_stage is None:
        raise DealError("no_pipeline", "no lost pipeline stage is configured")
    with transaction.atomic():
        locked = _lock(deal, expected_version)
        if locked.status != Deal.Status.OPEN:
            raise DealError("closed", "the deal is already closed")
        if locked.contact is not None and _in_stage(locked.contact, OPPORTUNITY_STAGE):
            # Someone may already have moved the person on (to nurture, say): the deal still closes.
            target = reason.sends_to.key if reason.sends_to else "nurture"
            journey_actions.advance(
                locked.contact, target, via=via, at=at, actor=actor, reason=reason, note=note, stages=stages
            )
        _record_move(locked, lost_stage, at=at, actor=actor)
        locked.status, locked.closed_at = Deal.Status.LOST, at
        locked.loss_reason = reason
        locked.version += 1
        locked.save(
            update_fields=[
                "status",
                "closed_at",
                "pipeline_stage",
                "stage_changed_at",
                "loss_reason",
                "version",
            ]
        )
        return locked


# --- many deals at once (the list's bulk actions) ----------------------------------------


@recorded_as("bulk")  # the history says these came from a bulk action
def assign_owner_many(deals: Sequence[Deal], owner: User | None, *, actor: User) -> BulkResult:
    """Give each deal the owner, through ``update_deal``; a deal the actor may not edit is
    reported, not skipped."""
    if owner is not None and not access.is_member(owner):
        raise DealError("bad_owner", f"{owner.get_username()} cannot own deals")
    result = BulkResult()
    for deal in deals:
        if not access.can_edit_deal(actor, deal):
            result.refuse(deal, Forbidden(f"{actor.get_username()} may not edit deal {deal.pk}"))
            continue
        try:
            update_deal(deal, owner=owner)
        except DealError as exc:
            result.refuse(deal, exc)
            continue
        result.done.append(deal)
    return result
