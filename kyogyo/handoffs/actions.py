"""Handoffs as contracts: opened by a transition into a handoff stage, due in business
hours, accepted or rejected by the receiving team, breaches marked by a scheduled check."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from kyogyo.audit.context import recorded_as
from kyogyo.customers.models import Contact
from kyogyo.handoffs import routing
from kyogyo.handoffs.business_hours import WorkingCalendar
from kyogyo.handoffs.models import BusinessCalendar, Handoff, RoutingRule
from kyogyo.journey import rulebook
from kyogyo.journey.machine import JourneyError, StageModel
from kyogyo.journey.models import ReasonCode, Transition
from kyogyo.journey.signals import handoff_event, handoff_rejected
from kyogyo.org import access
from kyogyo.org.bulk import BulkResult
from kyogyo.org.models import User


class HandoffError(ValueError):
    def __init__(self, code: str, message: str):
        self.code = code
        super().__init__(message)


def load_calendar() -> WorkingCalendar:
    row = BusinessCalendar.objects.filter(pk=1).prefetch_related("exceptions").first()
    if row is None:
        return WorkingCalendar()
    exceptions = list(row.exceptions.all())
    return WorkingCalendar(
        time_zone=row.time_zone,
        weekdays=frozenset(row.weekdays),
        day_start=row.day_start,
        day_end=row.day_end,
        holiday_country=row.holiday_country,
        closed_days=frozenset(e.date for e in exceptions if not e.is_working),
        extra_working_days=frozenset(e.date for e in exceptions if e.is_working),
    )


def open_handoff(
    transition: Transition,
    stages: StageModel,
    *,
    calendar: WorkingCalendar | None = None,
) -> Handoff:
    """Create the handoff for a transition into a handoff stage (inside its transaction)."""
    handoff = open_handoffs([transition], stages, calendar=calendar)[0]
    handoff_event.send(sender=Handoff, handoff=handoff, event="created")
    return handoff


def open_handoffs(
    transitions: Sequence[Transition],
    stages: StageModel,
    *,
    calendar: WorkingCalendar | None = None,
    lists: Mapping[str, frozenset[str]] | None = None,
) -> list[Handoff]:
    """The handoffs of many transitions into handoff stages, in their order (the round-robin
    goes on in that order), in a few queries. Inside their transaction; the caller sends the
    ``created`` events. ``lists`` are the value lists if the caller has them
    (``RuleBook.lists``); a transition's subject already loaded (and locked) is used as it is."""
    if not transitions:
        return []
    for transition in transitions:
        stage = stages.by_id[transition.to_stage_id]
        if stage.hands_to_id is None or stage.team_id is None:
            raise HandoffError("not_a_handoff_stage", f"stage {stage.key!r} hands nothing on")
    calendar = calendar or load_calendar()
    contacts = _subjects_of(transitions)
    rotation = routing.Rotation(rulebook.load_value_lists() if lists is None else lists)
    handoffs = []
    for transition in transitions:
        stage = stages.by_id[transition.to_stage_id]
        assert stage.hands_to_id is not None and stage.team_id is not None
        handoffs.append(
            Handoff(
                transition=transition,
                subject_id=transition.subject_id,
                stage_id=stage.id,
                from_team_id=stage.team_id,
                to_team_id=stage.hands_to_id,
                assigned_to_id=rotation.assign(
                    stage.hands_to_id, contacts[transition.subject_id], transition.at
                ),
                created_at=transition.at,
                due_at=calendar.add_business_hours(transition.at, stage.sla_hours or 0),
            )
        )
    rotation.save()
    return Handoff.objects.bulk_create(handoffs)


def _subjects_of(transitions: Sequence[Transition]) -> dict[int, Contact]:
    """Each transition's subject with its company: those the transitions carry, the others read."""
    subject, account = Transition.subject.field, Contact.account.field
    found = {
        t.subject_id: t.subject
        for t in transitions
        if subject.is_cached(t) and (t.subject.account_id is None or account.is_cached(t.subject))
    }
    missing = {t.subject_id for t in transitions} - set(found)
    if missing:
        found.update(Contact.objects.select_related("account").in_bulk(missing))
    return found


def _check_can_act(handoff: Handoff, actor: User) -> None:
    if not access.can_act_on_handoff(actor, handoff):
        raise HandoffError(
            "not_receiving_team",
            "only the receiving team or a manager can act on this handoff",
        )


def _lock_open(handoff: Handoff) -> Handoff:
    Contact.objects.select_for_update().filter(pk=handoff.subject_id).first()
    locked = Handoff.objects.select_for_update().get(pk=handoff.pk)
    if not locked.is_open:
        who = locked.acted_by.get_username() if locked.acted_by else "someone"
        raise HandoffError(
            "already_acted",
            f"this handoff was already {locked.get_status_display().lower()} by {who} "
            f"at {locked.acted_at:%Y-%m-%d %H:%M}",
        )
    return locked


def _close(
    handoff: Handoff,
    status: str,
    actor: User | None,
    at: dt.datetime,
    resolution: Transition,
    reason: ReasonCode | None,
    note: str,
) -> Handoff:
    handoff.status = status
    handoff.acted_at = at
    handoff.acted_by = actor
    handoff.reason = reason
    handoff.note = note
    handoff.resolution = resolution
    if at > handoff.due_at and handoff.breached_at is None:
        handoff.breached_at = handoff.due_at
    handoff.save(
        update_fields=["status", "acted_at", "acted_by", "reason", "note", "resolution", "breached_at"]
    )
    event = "accepted" if status == Handoff.Status.ACCEPTED else "rejected"
    handoff_event.send(sender=Handoff, handoff=handoff, event=event)
    return handoff


def accept_handoff(
    handoff: Handoff,
    *,
    actor: User,
    at: dt.datetime | None = None,
    note: str = "",
    stages: StageModel | None = None,
) -> Handoff:
    """The receiving team takes the subject: it moves to the stage's accept-to stage."""
    from kyogyo.journey.actions import advance

    _check_can_act(handoff, actor)
    stages = stages or rulebook.load_stage_model()
    at = at or timezone.now()
    with transaction.atomic():
        locked = _lock_open(handoff)
        target = stages.by_id[locked.stage_id].accept_to_key
        if target is None:
            raise HandoffError("no_accept_stage", "the handoff stage has no accept-to stage")
        row = advance(
            locked.subject, target, via=Transition.Via.HANDOFF, at=at, actor=actor, note=note, stages=stages
        )
        return _close(locked, Handoff.Status.ACCEPTED, actor, at, row, None, note)


def reject_handoff(
    handoff: Handoff,
    *,
    actor: User,
    reason: ReasonCode,
    at: dt.datetime | None = None,
    note: str = "",
    stages: StageModel | None = None,
) -> Handoff:
    """The receiving team refuses: the subject goes where the reason says (nurture,
    disqualified) or, for a reason without a destination, back to the sending stage."""
    from kyogyo.journey.actions import advance

    if reason.kind != ReasonCode.Kind.REJECT:
        raise HandoffError("bad_reason", f"{reason.key!r} is not a reject reason")
    if not reason.active:
        raise HandoffError("bad_reason", f"the reason {reason.key!r} is no longer in use")
    _check_can_act(handoff, actor)
    stages = stages or rulebook.load_stage_model()
    at = at or timezone.now()
    with transaction.atomic():
        locked = _lock_open(handoff)
        if reason.sends_to_id is not None:
            target = stages.by_id[reason.sends_to_id].key
        else:
            sender = locked.transition.from_stage_id
            if sender is None:
                raise HandoffError("no_sender_stage", "the handoff has no sending stage to return to")
            target = stages.by_id[sender].key
        row = advance(
            locked.subject,
            target,
            via=Transition.Via.HANDOFF,
            at=at,
            actor=actor,
            reason=reason,
            note=note,
            stages=stages,
        )
        closed = _close(locked, Handoff.Status.REJECTED, actor, at, row, reason, note)
        handoff_rejected.send(sender=Handoff, handoff=closed, target=target, at=at, actor=actor)
        return closed


def close_by_import(handoff_id: int, resolution: Transition, stages: StageModel) -> Handoff:
    """An imported move took the subject out of the stage it waited in: the source system
    says the receiving team acted, so the handoff closes with that move, by nobody —
    accepted when the move went to the stage's accept-to stage, else rejected (no reason).
    Inside the transaction of the move (``journey.actions.advance``)."""
    locked = Handoff.objects.select_for_update().get(pk=handoff_id)
    accepted = stages.by_id[resolution.to_stage_id].key == stages.by_id[locked.stage_id].accept_to_key
    status = Handoff.Status.ACCEPTED if accepted else Handoff.Status.REJECTED
    return _close(locked, status, None, resolution.at, resolution, None, resolution.note)


def mark_breaches(now: dt.datetime | None = None) -> int:
    """Mark open handoffs past their due time as breached; returns how many were newly marked.
    The breach time recorded is the due time, so re-running later changes nothing."""
    now = now or timezone.now()
    with transaction.atomic():
        overdue = Handoff.objects.filter(
            status=Handoff.Status.OPEN,
            breached_at__isnull=True,
            due_at__lt=now,
        )
        ids = list(overdue.values_list("pk", flat=True))
        count = overdue.update(breached_at=F("due_at")) if ids else 0
        if ids:
            handoff_event.send(sender=Handoff, handoff=None, handoff_ids=ids, event="breached")
    return count


# --- Configuration (Settings → SLAs and business calendar): admins only.


class SettingsError(ValueError):
    """A calendar or routing change refused; ``field`` names the input it is about."""

    def __init__(self, code: str, message: str, field: str | None = None):
        self.code, self.field = code, field
        super().__init__(message)


def _check_admin(actor: User) -> None:
    if not access.can_manage_settings(actor):
        raise SettingsError("forbidden", "only admins change the business calendar and routing")


@transaction.atomic
def update_calendar(
    *,
    actor: User,
    time_zone: str,
    weekdays: Sequence[int],
    day_start: dt.time,
    day_end: dt.time,
    holiday_country: str = "",
) -> BusinessCalendar:
    """The working week SLA clocks run on. Checked by building the calendar the clocks use
    (a time zone that exists, a day that ends after it starts, holiday data for the country);
    handoffs already open keep the due time they were given."""
    from kyogyo.handoffs.business_hours import CalendarError

    _check_admin(actor)
    holiday_country = (holiday_country or "").strip().upper()
    try:
        WorkingCalendar(
            time_zone=time_zone,
            weekdays=frozenset(weekdays),
            day_start=day_start,
            day_end=day_end,
            holiday_country=holiday_country,
        )
    except CalendarError as exc:
        text = str(exc)
        field = (
            "time_zone"
            if "time zone" in text
            else "holiday_country"
            if "holiday" in text
            else "day_end"
            if "must end" in text
            else "weekdays"
        )
        code = {
            "time_zone": "bad_time_zone",
            "holiday_country": "bad_holiday_country",
            "day_end": "bad_day_end",
            "weekdays": "no_weekdays",
        }[field]
        raise SettingsError(code, text, field=field) from exc
    row, _ = BusinessCalendar.objects.get_or_create(pk=1)
    row.time_zone, row.weekdays = time_zone, sorted(set(weekdays))
    row.day_start, row.day_end, row.holiday_country = day_start, day_end, holiday_country
    row.save()
    return row


@transaction.atomic
def add_calendar_exception(*, actor: User, date: dt.date, is_working: bool, name: str = "") -> None:
    from kyogyo.handoffs.models import CalendarException

    _check_admin(actor)
    row, _ = BusinessCalendar.objects.get_or_create(pk=1, defaults={"weekdays": [0, 1, 2, 3, 4]})
    if CalendarException.objects.filter(calendar=row, date=date).exists():
        raise SettingsError("date_taken", f"{date:%Y-%m-%d} is already an exception", field="date")
    CalendarException.objects.create(calendar=row, date=date, is_working=is_working, name=(name or "")[:100])


@transaction.atomic
def remove_calendar_exception(exception_id: int, *, actor: User) -> None:
    from kyogyo.handoffs.models import CalendarException

    _check_admin(actor)
    CalendarException.objects.filter(pk=exception_id).delete()


@transaction.atomic
def create_routing_rule(
    *,
    actor: User,
    team_id: int,
    name: str,
    priority: int,
    condition: dict | None,
    user_ids: Sequence[int],
) -> RoutingRule:
    """A coverage rule: handoffs to ``team`` for people matching ``condition`` go round-robin
    to the pool (the team's active members among ``user_ids``)."""
    from kyogyo.journey import criteria

    _check_admin(actor)
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise SettingsError("bad_name", "a routing rule needs a name of 1 to 100 characters", field="name")
    if condition is not None:
        lists = set(rulebook.load_value_lists())
        problems = criteria.validate(condition, list_keys=lists)
        if problems:
            raise SettingsError("bad_condition", "; ".join(str(p) for p in problems), field="condition")
    pool = list(User.objects.filter(pk__in=user_ids, team_id=team_id, is_active=True))
    if not pool:
        raise SettingsError("empty_pool", "choose at least one active member of the team", field="users")
    rule = RoutingRule.objects.create(team_id=team_id, name=name, priority=priority, condition=condition)
    rule.users.set(pool)
    return rule


@transaction.atomic
def set_routing_rule_active(rule: RoutingRule, *, actor: User, active: bool) -> RoutingRule:
    _check_admin(actor)
    rule.active = active
    rule.save(update_fields=["active"])
    return rule


# --- assigning, and many handoffs at once (the list's bulk actions) ----------------------


def assign_handoff(handoff: Handoff, assignee: User | None, *, actor: User) -> Handoff:
    """Give an open handoff to a member of the receiving team (None: back to the team)."""
    _check_can_act(handoff, actor)
    if assignee is not None and not (assignee.is_active and assignee.team_id == handoff.to_team_id):
        raise HandoffError("bad_assignee", "a handoff goes to an active member of the receiving team")
    with transaction.atomic():
        locked = _lock_open(handoff)
        locked.assigned_to = assignee
        locked.save(update_fields=["assigned_to"])
        return locked


@recorded_as("bulk")  # the history says these came from a bulk action
def accept_many(handoffs: Sequence[Handoff], *, actor: User, note: str = "") -> BulkResult:
    """Accept each handoff (``accept_handoff``); each refusal is reported with its code."""
    stages = rulebook.load_stage_model()
    result = BulkResult()
    for handoff in handoffs:
        try:
            result.done.append(accept_handoff(handoff, actor=actor, note=note, stages=stages))
        except (HandoffError, JourneyError) as exc:
            result.refuse(handoff, exc)
    return result


@recorded_as("bulk")  # the history says these came from a bulk action
def assign_many(handoffs: Sequence[Handoff], assignee: User | None, *, actor: User) -> BulkResult:
    result = BulkResult()
    for handoff in handoffs:
        try:
            result.done.append(assign_handoff(handoff, assignee, actor=actor))
        except HandoffError as exc:
            result.refuse(handoff, exc)
    return result
