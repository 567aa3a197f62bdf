"""The weekly cross-team review: one page a team walks through in its meeting and prints —
what changed since the week before, where the flow is stuck, which handoffs were rejected
and why. Every number comes from the reports and links to its records."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils.translation import gettext as _

from kyogyo.analytics import dashboard, drilldown
from kyogyo.analytics.drilldown import Cell
from kyogyo.analytics.metrics.base import Context
from kyogyo.analytics.spec import Spec

WEEK = dt.timedelta(days=7)
STUCK_WEEKS = 12  # the bottleneck and pile-up look back this far from the week's end
MAX_REJECTS = 50


def week_from(text: str | None, today: dt.date) -> tuple[dt.date, str | None]:
    """The Monday of the asked week (any day of it), else of the current one."""
    this_week = today - dt.timedelta(days=today.weekday())
    if not text:
        return this_week, None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        return this_week, _("Not a date: write the week as YYYY-MM-DD. Showing the current week.")
    return day - dt.timedelta(days=day.weekday()), None


def build(context: Context, week: dt.date) -> dict[str, Any]:
    names = dashboard.local_stage_names(context)
    teams = dashboard.team_names()
    end = week + dt.timedelta(days=6)
    previous = week - WEEK
    this_kept = {"start": week.isoformat(), "end": end.isoformat(), "view": "period"}
    before_kept = {
        "start": previous.isoformat(),
        "end": (week - dt.timedelta(days=1)).isoformat(),
        "view": "period",
    }
    now = dashboard.report("waterfall", {"start": week, "end": end, "view": "period"})
    before = dashboard.report(
        "waterfall", {"start": previous, "end": week - dt.timedelta(days=1), "view": "period"}
    )
    handoffs = dashboard.report("handoffs", {"start": week, "end": end})
    stuck_start = end - dt.timedelta(weeks=STUCK_WEEKS) + dt.timedelta(days=1)
    stuck = dashboard.report("bottleneck", {"start": stuck_start, "end": end})
    # the pile-up's open items are the flow's balance at the same time: the same people
    stuck_kept = {"start": stuck_start.isoformat(), "end": end.isoformat()}
    boundaries = dashboard.boundary_rows(handoffs.data, names, teams, this_kept) if handoffs.data else []
    return {
        "week": week,
        "week_end": end,
        "previous_week": previous,
        "next_week": week + WEEK,
        "changes": changes(now.data, before.data, names, this_kept, before_kept),
        "problems": [s.problem for s in (now, before, handoffs, stuck) if s.problem],
        "boundaries": boundaries,
        "reasons": reject_reasons(boundaries),
        "rejects": rejected_handoffs(context, week, end, boundaries),
        "stuck": stuck.data,
        "pile_up": [
            dict(
                p,
                label=names.get(p["stage"], p["stage"]),
                open_url=drilldown.url(stuck_kept, "flow", "balance", p["stage"]),
            )
            for p in (stuck.data or {}).get("pile_up", [])
        ],
        "stuck_weeks": STUCK_WEEKS,
        "snapshot": (now.data or {}).get("snapshot"),
    }


def changes(
    now: dict[str, Any] | None,
    before: dict[str, Any] | None,
    names: dict[str, str],
    this_kept: dict[str, str],
    before_kept: dict[str, str],
) -> list[dict[str, Any]]:
    """First entries per stage this week against the week before."""
    if not now or not before:
        return []
    earlier = {row["stage"]: row["entered"] for row in before["stages"]}
    rows = []
    for row in now["stages"]:
        stage = row["stage"]
        rows.append(
            {
                "stage": stage,
                "label": names.get(stage, stage),
                "entered": row["entered"],
                "before": earlier.get(stage, 0),
                "change": row["entered"] - earlier.get(stage, 0),
                "url": drilldown.url(this_kept, "waterfall", "entered", stage),
                "before_url": drilldown.url(before_kept, "waterfall", "entered", stage),
            }
        )
    return rows


def reject_reasons(boundaries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from kyogyo.journey.models import ReasonCode
    from kyogyo.web.templatetags.web import local_name

    labels = {r.key: local_name(r) for r in ReasonCode.objects.filter(kind=ReasonCode.Kind.REJECT)}
    rows = []
    for b in boundaries:
        for reason in b["lead_quality"]["reject_reasons"]:
            rows.append(
                {
                    "boundary": b["label"],
                    "reason": labels.get(reason["reason"], reason["label"] or reason["reason"]),
                    "count": reason["count"],
                }
            )
    return sorted(rows, key=lambda r: -r["count"])


def rejected_handoffs(
    context: Context, start: dt.date, end: dt.date, boundaries: list[dict[str, Any]]
) -> list[Any]:
    """The rejected handoffs the week's numbers count (created in the week, rejected by now)."""
    spec = Spec(start=start, end=end)
    found: list[Any] = []
    for b in boundaries:
        if b["rejected"]:
            found += drilldown.records(
                context, spec, Cell("handoffs", "rejected", b["stage"]), 1, MAX_REJECTS
            ).items
    return found[:MAX_REJECTS]


def cell_title(cell: Cell, names: dict[str, str]) -> str:
    stage = names.get(cell.stage, cell.stage)
    titles = {
        ("waterfall", "entered"): _("People who first entered %(stage)s"),
        ("waterfall", "advanced"): _("People who entered %(stage)s and advanced to the next stage"),
        ("handoffs", "created"): _("Handoffs at %(stage)s created in the period"),
        ("handoffs", "accepted"): _("Handoffs at %(stage)s accepted"),
        ("handoffs", "rejected"): _("Handoffs at %(stage)s rejected"),
        ("handoffs", "open"): _("Handoffs at %(stage)s still open"),
        ("handoffs", "due"): _("Handoffs at %(stage)s due in the period"),
        ("handoffs", "met"): _("Handoffs at %(stage)s acted on within the SLA"),
        ("handoffs", "breached"): _("Handoffs at %(stage)s past their SLA"),
        ("deals", "won"): _("Deals won in the period"),
        ("flow", "opening"): _("People in %(stage)s at the start of the period"),
        ("flow", "balance"): _("People in %(stage)s at the end of the period"),
        ("flow", "stalled"): _("People stalled in %(stage)s at the end of the period"),
    }
    return titles.get((cell.metric, cell.measure), _("Records")) % {"stage": stage}
