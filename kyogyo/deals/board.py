"""The pipeline board's data: one column per open pipeline stage with its first cards, the
count, amount and stalled deals of every column in one aggregate query, and the won and lost
deals of the last days summarised at the end. Bounded however many deals there are: each
column reads at most ``CARDS_PER_COLUMN + 1`` rows; the rest is behind a "more" link."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field
from functools import reduce
from operator import or_

from django.db.models import Count, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from kyogyo.analytics.models import AnalyticsSettings
from kyogyo.deals.models import Deal, PipelineStage
from kyogyo.org import access, restricted
from kyogyo.org.models import Team, User

CARDS_PER_COLUMN = 20
CLOSED_WINDOW_DAYS = 30


@dataclass(frozen=True)
class Filters:
    owner: User | None = None
    team: Team | None = None
    segment: tuple[int | None, int | None] | None = None  # employee count [low, high)


@dataclass(frozen=True)
class Card:
    deal: Deal
    days_in_stage: int
    stalled: bool
    editable: bool


@dataclass
class Column:
    stage: PipelineStage
    count: int = 0
    amount: int | restricted.Masked = 0  # Masked: the reader may not see amounts
    stalled: int = 0
    cards: list[Card] = field(default_factory=list)

    @property
    def has_more(self) -> bool:
        return self.count > len(self.cards)


@dataclass(frozen=True)
class Board:
    columns: list[Column]
    won: Column | None
    lost: Column | None
    open_stages: list[PipelineStage]


def segment_bands() -> list[tuple[str, tuple[int | None, int | None]]]:
    """The company-size bands of the analytics settings: (label, [low, high)) each."""
    edges = AnalyticsSettings.load().company_size_edges
    bounds: list[int | None] = [None, *edges, None]
    bands = []
    for low, high in itertools.pairwise(bounds):
        if low is None:
            label = f"<{high}"
        elif high is None:
            label = f"{low}+"
        else:
            label = f"{low}–{high - 1}"
        bands.append((label, (low, high)))
    return bands


def filtered(filters: Filters) -> QuerySet[Deal]:
    deals = Deal.objects.annotate(since=Coalesce("stage_changed_at", "created_at"))
    if filters.owner is not None:
        deals = deals.filter(owner=filters.owner)
    if filters.team is not None:
        deals = deals.filter(owner__team=filters.team)
    if filters.segment is not None:
        low, high = filters.segment
        if low is not None:
            deals = deals.filter(account__employee_count__gte=low)
        if high is not None:
            deals = deals.filter(account__employee_count__lt=high)
    return deals


def stalled_since(stage: PipelineStage, now: dt.datetime) -> dt.datetime | None:
    """Deals in ``stage`` since before this are stalled (None: the stage never stalls)."""
    if stage.stall_days is None or stage.is_closed:
        return None
    return now - dt.timedelta(days=stage.stall_days)


def _stalled_condition(stages: list[PipelineStage], now: dt.datetime) -> Q | None:
    parts = []
    for stage in stages:
        limit = stalled_since(stage, now)
        if limit is not None:
            # (a row written in bulk has no stage_changed_at: it counts from its creation)
            since = Q(stage_changed_at__lt=limit) | Q(stage_changed_at__isnull=True, created_at__lt=limit)
            parts.append(Q(pipeline_stage=stage) & since)
    return reduce(or_, parts) if parts else None


def totals(deals: QuerySet[Deal], stages: list[PipelineStage], now: dt.datetime) -> dict[int, dict[str, int]]:
    """Count, amount and stalled deals per pipeline stage: one aggregate query over the open
    deals and one over the won and lost ones closed within the window, each read from an
    index (``deal_board_column``, ``deal_board_closed``) when no filter is set."""
    window_start = now - dt.timedelta(days=CLOSED_WINDOW_DAYS)
    stalled = _stalled_condition(stages, now)
    open_rows = (
        deals.filter(status=Deal.Status.OPEN)
        .order_by()
        .values("pipeline_stage_id")
        .annotate(
            count=Count("id"),
            amount=Coalesce(Sum("amount"), 0),
            stalled=Count("id", filter=stalled) if stalled is not None else Value(0),
        )
    )
    closed_rows = (
        deals.filter(status__in=[Deal.Status.WON, Deal.Status.LOST], closed_at__gte=window_start)
        .order_by()
        .values("pipeline_stage_id")
        .annotate(count=Count("id"), amount=Coalesce(Sum("amount"), 0), stalled=Value(0))
    )
    found: dict[int, dict[str, int]] = {}
    for row in [*open_rows, *closed_rows]:
        into = found.setdefault(row["pipeline_stage_id"], {"count": 0, "amount": 0, "stalled": 0})
        for name in ("count", "amount", "stalled"):
            into[name] += row[name]
    return found


def cards(
    user: User, deals: QuerySet[Deal], stage: PipelineStage, now: dt.datetime, limit: int, offset: int = 0
) -> tuple[list[Card], bool]:
    """The open deals of one column, longest in the stage first (in the index's order; rows
    written in bulk without a stage time come first on SQLite, last on PostgreSQL); and
    whether more follow."""
    rows = list(
        deals.filter(status=Deal.Status.OPEN, pipeline_stage=stage)
        .select_related("account", "owner", "contact__milestone__current_stage")
        .order_by("stage_changed_at", "id")[offset : offset + limit + 1]
    )
    limit_at = stalled_since(stage, now)
    policy = restricted.policy(user)  # a card shows what the reader may see of the deal
    shown = [
        Card(
            deal=policy.mask(deal),
            days_in_stage=max((now - deal.since).days, 0),  # type: ignore[attr-defined]
            stalled=limit_at is not None and deal.since < limit_at,  # type: ignore[attr-defined]
            editable=access.can_edit_deal(user, deal),
        )
        for deal in rows[:limit]
    ]
    return shown, len(rows) > limit


def board(user: User, filters: Filters, now: dt.datetime) -> Board:
    stages = list(PipelineStage.objects.order_by("order", "key"))
    deals = filtered(filters)
    sums = totals(deals, stages, now)
    columns: list[Column] = []
    won = lost = None
    # A column's total gives a hidden amount away (a column of one deal is its amount).
    hidden = restricted.policy(user).always_hidden(Deal, "amount")
    for stage in stages:
        row = sums.get(stage.pk, {})
        amount = restricted.masked_value() if hidden else row.get("amount", 0)
        column = Column(stage, row.get("count", 0), amount, row.get("stalled", 0))
        if stage.is_won:
            won = won or column
        elif stage.is_lost:
            lost = lost or column
        else:
            if column.count:
                column.cards = cards(user, deals, stage, now, CARDS_PER_COLUMN)[0]
            columns.append(column)
    return Board(columns, won, lost, [c.stage for c in columns])


def column_totals(filters: Filters, now: dt.datetime) -> dict[str, dict[str, int]]:
    """Every column's totals by stage key (for the board to update after a move)."""
    stages = list(PipelineStage.objects.order_by("order", "key"))
    sums = totals(filtered(filters), stages, now)
    empty = {"count": 0, "amount": 0, "stalled": 0}
    return {stage.key: {k: sums.get(stage.pk, empty)[k] for k in empty} for stage in stages}
