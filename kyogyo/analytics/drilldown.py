"""The records behind any number of The Model's pages: a number names its metric, measure
and stage (or boundary) in the query string beside the filters; each metric module gives the
SQL of the ids behind one of its cells by the definitions it counts with, so the list has
exactly as many rows as the number said.

Ids come from the snapshot (the numbers' source) a page at a time (LIMIT one more than a
page, no COUNT); the rows shown are read from the database by those ids."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse

from kyogyo.analytics.metrics import flow, handoffs, plan, waterfall
from kyogyo.analytics.metrics.base import Context
from kyogyo.analytics.spec import Spec, SpecError
from kyogyo.web.paging import DEFAULT_PER_PAGE, Page

# metric → the kind of record its cells hold
KINDS = {"waterfall": "people", "flow": "people", "handoffs": "handoffs", "deals": "deals"}


@dataclass(frozen=True)
class Cell:
    metric: str
    measure: str
    stage: str = ""

    def sql(self, context: Context, spec: Spec) -> tuple[str, list[Any]]:
        if self.metric == "waterfall":
            return waterfall.cell_sql(context, spec, self.stage, self.measure)
        if self.metric == "flow":
            return flow.cell_sql(context, spec, self.stage, self.measure)
        if self.metric == "handoffs":
            return handoffs.cell_sql(context, spec, self.stage, self.measure)
        if self.metric == "deals" and self.measure == "won":
            assert spec.start is not None and spec.end is not None
            return plan.won_deals_sql(context, spec.start, spec.end, plan.DEFAULT_CURRENCY, spec)
        raise SpecError("bad_measure", f"no records behind {self.metric} {self.measure}")

    @property
    def kind(self) -> str:
        return KINDS[self.metric]


def cell_from(params: Any) -> Cell:
    metric = params.get("metric", "")
    if metric not in KINDS:
        raise SpecError("bad_measure", f"unknown metric {metric!r}")
    return Cell(metric, params.get("measure", ""), params.get("stage", ""))


def url(kept: dict[str, str], metric: str, measure: str, stage: str = "") -> str:
    """The drill-down of one number, keeping the page's filters."""
    params = {**kept, "metric": metric, "measure": measure}
    if stage:
        params["stage"] = stage
    return reverse("analytics:drilldown") + "?" + urlencode(sorted(params.items()))


def count(context: Context, spec: Spec, cell: Cell) -> int:
    sql, params = cell.sql(context, spec)
    return int(context.snapshot.query(f"SELECT count(*) FROM ({sql})", params)[0][0])


def ids(context: Context, spec: Spec, cell: Cell, *, offset: int = 0, limit: int | None = None) -> list[int]:
    sql, params = cell.sql(context, spec)
    page = f" LIMIT {int(limit)} OFFSET {int(offset)}" if limit is not None else ""
    rows = context.snapshot.query(f"SELECT * FROM ({sql}) ORDER BY 1 DESC{page}", params)
    return [int(row[0]) for row in rows]


def records(
    context: Context, spec: Spec, cell: Cell, number: int, per_page: int = DEFAULT_PER_PAGE
) -> Page[Any]:
    """One page of the records behind the cell, newest id first."""
    found = ids(context, spec, cell, offset=(number - 1) * per_page, limit=per_page + 1)
    shown = found[:per_page]
    by_id = {row.pk: row for row in _rows(cell.kind, shown)}
    items = [by_id[pk] for pk in shown if pk in by_id]  # a row deleted since the snapshot is left out
    return Page(items=items, number=number, per_page=per_page, has_next=len(found) > per_page)


def _rows(kind: str, pks: list[int]) -> list[Any]:
    if kind == "people":
        from kyogyo.customers.models import Contact

        return list(
            Contact.objects.filter(pk__in=pks).select_related("account", "owner", "milestone__current_stage")
        )
    if kind == "handoffs":
        from kyogyo.handoffs.models import Handoff

        return list(
            Handoff.objects.filter(pk__in=pks).select_related(
                "subject",
                "subject__account",
                "stage",
                "from_team",
                "to_team",
                "assigned_to",
                "acted_by",
                "reason",
            )
        )
    from kyogyo.deals.models import Deal

    return list(
        Deal.objects.filter(pk__in=pks).select_related("account", "contact", "owner", "pipeline_stage")
    )
