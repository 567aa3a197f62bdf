"""One timeline across the four teams: a person's (or a whole company's) activities, stage
changes, handoffs with their notes and reject reasons, deals, subscription changes, NPS
answers and notes, merged newest first.

Paged by a cursor, not an offset: each source is asked for one page (plus one row) older
than the cursor, in its own indexed order, and the pages are merged. So a page costs one
query per source whatever the length of the history, and "older" never skips or repeats an
event when new ones arrive. The cursor is (time, source rank, id): events of one instant
keep a fixed order (a touch before the move it caused, the move before its handoff)."""

from __future__ import annotations

import copy
import datetime as dt
import heapq
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from kyogyo.customers.models import Account, Contact, Note
from kyogyo.customers.notes import Part, parts_of
from kyogyo.deals.models import Deal
from kyogyo.handoffs.models import Handoff
from kyogyo.journey.models import Transition
from kyogyo.marketing.models import Activity
from kyogyo.org.models import Team
from kyogyo.org.restricted import Policy
from kyogyo.success.actions import moment_of
from kyogyo.success.models import NpsResponse, SubscriptionChange

PER_PAGE = 30
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True, order=True)
class Cursor:
    """A position in the timeline: events strictly older than it come next."""

    at: dt.datetime
    rank: int
    id: int

    def encode(self) -> str:
        micros = (self.at - EPOCH) // dt.timedelta(microseconds=1)
        return f"{micros}.{self.rank}.{self.id}"

    @classmethod
    def decode(cls, raw: str | None) -> Cursor | None:
        """The cursor of an "older" link; anything malformed reads as the newest page."""
        parts = (raw or "").split(".")
        if len(parts) != 3 or not all(p.isdigit() for p in parts) or len(parts[0]) > 18:
            return None
        micros, rank, pk = (int(p) for p in parts)
        return cls(EPOCH + dt.timedelta(microseconds=micros), rank, pk)


@dataclass(frozen=True)
class Event:
    at: dt.datetime
    rank: int
    id: int
    kind: str
    obj: Any
    team: Team | None = None
    parts: list[Part] = field(default_factory=list)  # a note's body with its mentions

    @property
    def cursor(self) -> Cursor:
        return Cursor(self.at, self.rank, self.id)


@dataclass(frozen=True)
class TimelinePage:
    events: list[Event]
    older: str | None  # the cursor of the next (older) page, None on the last one
    is_first: bool


@dataclass(frozen=True)
class Source:
    """One kind of event: its rows for the subject, the field that dates them and how one
    row becomes an event (``dated`` for a date field: placed at noon, as success does)."""

    rank: int
    kind: str
    rows: Callable[[], QuerySet[Any]]
    time_field: str
    dated: bool = False
    team_of: Callable[[Any], int | str | None] = lambda row: None  # a team's id, or its key

    def time_of(self, row: Any) -> dt.datetime:
        value = getattr(row, self.time_field)
        return moment_of(value) if self.dated else value

    def older_than(self, cursor: Cursor | None) -> QuerySet[Any]:
        rows = self.rows()
        if cursor is not None:
            rows = rows.filter(self._before(cursor))
        return rows.order_by(f"-{self.time_field}", "-id")

    def _before(self, cursor: Cursor) -> Q:
        """Rows whose (time, rank, id) sorts before ``cursor``: earlier, or at the same instant
        and of a lower rank, or of this rank with a lower id."""
        tie = Q() if self.rank < cursor.rank else Q(id__lt=cursor.id) if self.rank == cursor.rank else None
        if not self.dated:
            earlier = Q(**{f"{self.time_field}__lt": cursor.at})
            same = Q(**{self.time_field: cursor.at})
            return earlier | (same & tie) if tie is not None else earlier
        day = timezone.localtime(cursor.at, timezone.get_default_timezone()).date()
        noon = moment_of(day)
        if cursor.at > noon:
            return Q(**{f"{self.time_field}__lte": day})
        earlier = Q(**{f"{self.time_field}__lt": day})
        if cursor.at < noon or tie is None:
            return earlier
        return earlier | (Q(**{self.time_field: day}) & tie)


def _user_team(user: Any) -> int | None:
    return user.team_id if user is not None else None


def contact_sources(contact: Contact) -> list[Source]:
    return _sources(
        activities=lambda: Activity.objects.filter(contact=contact),
        transitions=lambda: Transition.objects.filter(subject=contact),
        handoffs=lambda: Handoff.objects.filter(subject=contact),
        deals=lambda: Deal.objects.filter(contact=contact),
        changes=lambda: SubscriptionChange.objects.filter(subscription__deal__contact=contact),
        answers=lambda: NpsResponse.objects.filter(contact=contact),
        notes=lambda: Note.objects.filter(contact=contact),
    )


def _people_of(account: Account) -> QuerySet[Contact, Any]:
    return Contact.objects.filter(account=account).values("id")


def account_sources(account: Account) -> list[Source]:
    """The company's own deals, subscriptions and notes, and everything of its people."""
    return _sources(
        activities=lambda: Activity.objects.filter(contact__account=account),
        transitions=lambda: Transition.objects.filter(subject__account=account),
        handoffs=lambda: Handoff.objects.filter(subject__account=account),
        deals=lambda: Deal.objects.filter(account=account),
        changes=lambda: SubscriptionChange.objects.filter(subscription__account=account),
        # answers and notes of its people by id (an IN over the company's people, which an
        # index serves, rather than a join the OR would make the planner scan)
        answers=lambda: NpsResponse.objects.filter(
            Q(account=account) | Q(contact_id__in=_people_of(account))
        ),
        notes=lambda: Note.objects.filter(Q(account=account) | Q(contact_id__in=_people_of(account))),
        with_person=True,
    )


def _sources(
    *,
    activities: Callable[[], QuerySet[Activity]],
    transitions: Callable[[], QuerySet[Transition]],
    handoffs: Callable[[], QuerySet[Handoff]],
    deals: Callable[[], QuerySet[Deal]],
    changes: Callable[[], QuerySet[SubscriptionChange]],
    answers: Callable[[], QuerySet[NpsResponse]],
    notes: Callable[[], QuerySet[Note]],
    with_person: bool = False,
) -> list[Source]:
    person = ["contact", "contact__account"] if with_person else []
    subject = ["subject", "subject__account"] if with_person else []
    return [
        Source(
            0,
            "activity",
            # an NPS answer is also kept as a survey activity: the answer itself is shown
            lambda: activities().exclude(source="nps").select_related("campaign", "actor", *person),
            "occurred_at",
            team_of=lambda row: _user_team(row.actor),
        ),
        Source(
            1,
            "nps",
            lambda: answers().select_related(*person),
            "answered_at",
            team_of=lambda row: Team.CUSTOMER_SUCCESS,
        ),
        Source(
            2,
            "transition",
            lambda: transitions().select_related(
                "from_stage", "to_stage", "actor", "rule_version", "rule_version__rule", "reason", *subject
            ),
            "at",
            team_of=lambda row: row.to_stage.team_id,
        ),
        Source(
            3,
            "handoff",
            lambda: handoffs().select_related("stage", "from_team", "to_team", "assigned_to", *subject),
            "created_at",
            team_of=lambda row: row.from_team_id,
        ),
        Source(
            4,
            "handoff_acted",
            lambda: (
                handoffs()
                .filter(acted_at__isnull=False)
                .select_related("stage", "from_team", "to_team", "acted_by", "reason", *subject)
            ),
            "acted_at",
            team_of=lambda row: row.to_team_id,
        ),
        Source(
            5,
            "deal",
            lambda: deals().select_related("pipeline_stage", "owner", *person),
            "created_at",
            team_of=lambda row: _user_team(row.owner),
        ),
        Source(
            6,
            "deal_closed",
            lambda: (
                deals()
                .filter(closed_at__isnull=False)
                .select_related("pipeline_stage", "owner", "loss_reason", *person)
            ),
            "closed_at",
            team_of=lambda row: _user_team(row.owner),
        ),
        Source(
            7,
            "subscription",
            lambda: changes().select_related("subscription"),
            "occurred_on",
            dated=True,
            team_of=lambda row: Team.CUSTOMER_SUCCESS,
        ),
        Source(
            8,
            "note",
            lambda: notes().select_related("author", *person).prefetch_related("mentions"),
            "created_at",
            team_of=lambda row: _user_team(row.author),
        ),
    ]


def _events(
    source: Source, cursor: Cursor | None, limit: int, teams: dict[int | str, Team]
) -> Iterator[Event]:
    for row in source.older_than(cursor)[:limit]:
        team = source.team_of(row)
        yield Event(
            at=source.time_of(row),
            rank=source.rank,
            id=row.pk,
            kind=source.kind,
            obj=row,
            team=teams.get(team) if team is not None else None,
            parts=parts_of(row) if source.kind == "note" else [],
        )


def page_of(sources: list[Source], raw_cursor: str | None = None, per_page: int = PER_PAGE) -> TimelinePage:
    """One page of the merged timeline, newest first, older than the given cursor."""
    cursor = Cursor.decode(raw_cursor)
    teams: dict[int | str, Team] = {}
    for team in Team.objects.all():
        teams[team.pk] = teams[team.key] = team
    streams = [list(_events(source, cursor, per_page + 1, teams)) for source in sources]
    merged = heapq.merge(*streams, key=lambda event: event.cursor, reverse=True)
    events = [event for _, event in zip(range(per_page + 1), merged, strict=False)]
    older = events[per_page - 1].cursor.encode() if len(events) > per_page else None
    return TimelinePage(events=events[:per_page], older=older, is_first=cursor is None)


def masked(policy: Policy, page: TimelinePage) -> TimelinePage:
    """The page with what the reader may not see masked: a deal's amount, a person's name
    where it is shown (the company's timeline); one decision, kyogyo/org/restricted.py."""
    if not policy.hides_anything:
        return page
    events = []
    for event in page.events:
        obj = policy.mask(event.obj)
        for relation in ("contact", "subject"):
            related = _loaded(obj, relation)  # a person loaded with the row (the company's timeline)
            if related is not None:
                if obj is event.obj:
                    obj = copy.copy(obj)
                setattr(obj, relation, policy.mask(related))
        events.append(replace(event, obj=obj))
    return replace(page, events=events)


def _loaded(row: Any, relation: str) -> Any:
    if not hasattr(row, f"{relation}_id"):
        return None
    field = row._meta.get_field(relation)
    return field.get_cached_value(row) if field.is_cached(row) else None
