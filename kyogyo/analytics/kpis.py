""" "My KPIs against target" on each person's home: their team's nodes of the KPI tree (the
same report as the dashboard's chain) for the fiscal year that contains today."""

from __future__ import annotations

from typing import Any

from kyogyo.analytics import dashboard, snapshot
from kyogyo.analytics.filters import fiscal_year_of
from kyogyo.analytics.metrics.base import Context
from kyogyo.org import access
from kyogyo.org.models import User


def my_kpis(user: User) -> dict[str, Any] | None:
    """None for people who do not read reports; no rows before the first snapshot (the home
    page never waits for one to be built)."""
    if not access.can_read_reports(user):
        return None
    found = snapshot.open_current()
    if found is None:
        return {"rows": []}
    context = Context.create(found)
    start, end = fiscal_year_of(context.as_of.date(), context.settings.fiscal_year_start_month)
    window = {"start": start.isoformat(), "end": end.isoformat()}
    section = dashboard.report("kpi-tree", {"start": start, "end": end})
    if section.data is None:
        return {"rows": [], "problem": section.problem}
    tree = section.data["tree"]
    team = user.team.key if user.team else None
    nodes = [node for node in tree["children"] if node["team"] == team] or [tree]
    rows = [
        dict(node, label=dashboard.kpi_label(node), url=dashboard.kpi_url(node, window)) for node in nodes
    ]
    return {"rows": rows, "start": start, "end": end}
