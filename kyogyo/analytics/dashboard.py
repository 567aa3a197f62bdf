"""What The Model's pages show, assembled from the reports (``reports.run``: the one path the
command line and the API take, so the pages give the same numbers): the waterfall with its
funnel, each team's KPI chained to the next with the handoff boundary between them, flow and
balance, the bottleneck — every number with the link to the records behind it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import get_language
from django.utils.translation import gettext as _

from kyogyo.analytics import drilldown, reports
from kyogyo.analytics.metrics.base import Context
from kyogyo.analytics.spec import SpecError
from kyogyo.web.refusals import refusal_message

TEAM_ORDER = ("marketing", "inside_sales", "field_sales", "customer_success")


@dataclass
class Section:
    """One report's result, or why it could not be shown."""

    data: dict[str, Any] | None = None
    problem: str | None = None
    notes: list[str] = field(default_factory=list)


def report(name: str, options: dict[str, Any]) -> Section:
    given = {**reports.own_defaults(name), **options}
    try:
        _, data = reports.run(name, given)
    except SpecError as exc:
        return Section(problem=refusal_message(exc))
    return Section(data=data)


def local_stage_names(context: Context) -> dict[str, str]:
    japanese = (get_language() or "").startswith("ja")
    return {s.key: (s.name_ja if japanese and s.name_ja else s.name) for s in context.stages}


def team_names() -> dict[str, str]:
    from kyogyo.org.models import Team
    from kyogyo.web.templatetags.web import local_name

    return {team.key: local_name(team) for team in Team.objects.all()}


def waterfall_rows(data: dict[str, Any], names: dict[str, str], kept: dict[str, str]) -> list[dict[str, Any]]:
    rows = []
    for row in data["stages"]:
        stage = row["stage"]
        rows.append(
            {
                **row,
                "label": names.get(stage, stage),
                "next_label": names.get(row["next_stage"] or "", ""),
                "entered_url": drilldown.url(kept, "waterfall", "entered", stage),
                "advanced_url": (
                    drilldown.url(kept, "waterfall", "advanced", stage) if row["next_stage"] else None
                ),
            }
        )
    return rows


def boundary_rows(data: dict[str, Any], names: dict[str, str], teams: dict[str, str], kept: dict[str, str]):
    rows = []
    for b in data["boundaries"]:
        stage = b["stage"]
        links = {
            f"{measure}_url": drilldown.url(kept, "handoffs", measure, stage)
            for measure in ("created", "accepted", "rejected", "open", "due", "met", "breached")
        }
        rows.append(
            {
                **b,
                **links,
                "label": names.get(stage, stage),
                "from_label": teams.get(b["from_team"], b["from_team"]),
                "to_label": teams.get(b["to_team"], b["to_team"]),
            }
        )
    return rows


def kpi_chain(
    tree: dict[str, Any] | None, boundaries: list[dict[str, Any]], teams: dict[str, str], kept: dict[str, str]
) -> list[dict[str, Any]]:
    """Each team's KPIs (target, actual, attainment), in the order of The Model, each followed
    by the boundary it hands on at (acceptance and SLA compliance of the next team)."""
    nodes = (tree or {}).get("children", [])
    chain = []
    for team in TEAM_ORDER:
        kpis = [
            dict(node, url=kpi_url(node, kept), local_label=kpi_label(node))
            for node in nodes
            if node["team"] == team
        ]
        handing_on = [b for b in boundaries if b["from_team"] == team]
        chain.append({"team": team, "label": teams.get(team, team), "kpis": kpis, "boundaries": handing_on})
    return chain


def kpi_label(node: dict[str, Any]) -> str:
    labels = {
        "revenue": _("Revenue (deals won)"),
        "entered:mql": _("MQLs"),
        "entered:sql": _("SQLs"),
        "wins": _("Deals won"),
        "grr": _("Gross revenue retention"),
    }
    return labels.get(node["key"], node.get("label") or node["key"])


def kpi_url(node: dict[str, Any], kept: dict[str, str]) -> str | None:
    key = node["key"]
    if key.startswith("entered:"):
        return drilldown.url(kept, "waterfall", "entered", key.split(":", 1)[1])
    if key in ("wins", "revenue"):
        return drilldown.url(kept, "deals", "won")
    return None  # GRR is a ratio over subscriptions' MRR: shown with its detail instead


def without_filters(kept: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in kept.items() if k in ("period", "start", "end")}


def build(options: dict[str, Any], kept: dict[str, str], context: Context) -> dict[str, Any]:
    from kyogyo.analytics import figures

    names = local_stage_names(context)
    teams = team_names()
    flow_options = dict(options)
    filters = dict(options.get("filter") or [])
    window = {"start": options["start"], "end": options["end"]}

    waterfall = report("waterfall", options)
    handoff_options = {**options, "filter": [(k, v) for k, v in filters.items() if k != "team"]}
    handoffs = report("handoffs", handoff_options)
    if "team" in filters:
        handoffs.notes.append(_("The team filter does not apply to handoffs: each boundary names its teams."))
    kpi = report("kpi-tree", window)
    if filters:
        kpi.notes.append(_("The KPIs and their targets are company-wide: the filters do not apply to them."))
    bottleneck = report("bottleneck", options)
    flow = report("flow", flow_options)

    velocity = report("velocity", options)
    stages = waterfall_rows(waterfall.data, names, kept) if waterfall.data else []
    p80 = {row["stage"]: row["p80_days"] for row in (velocity.data or {}).get("stages", [])}
    for row in stages:
        row["p80_days"] = p80.get(row["stage"])
    handoff_kept = {k: v for k, v in kept.items() if k != "team"}
    boundaries = boundary_rows(handoffs.data, names, teams, handoff_kept) if handoffs.data else []
    tree = kpi.data["tree"] if kpi.data else None
    return {
        "waterfall": waterfall,
        "stages": stages,
        "funnel": figures.funnel(stages) if stages else None,
        "handoffs": handoffs,
        "boundaries": boundaries,
        "kpi": kpi,
        "tree": tree,
        "tree_url": kpi_url(tree, without_filters(kept)) if tree else None,
        "chain": kpi_chain(tree, boundaries, teams, without_filters(kept)),
        "bottleneck": bottleneck,
        "steps": bottleneck_steps(bottleneck.data, names, kept) if bottleneck.data else [],
        "flow": flow,
        "flow_rows": flow_rows(flow.data, names, kept) if flow.data else [],
        "names": names,
        "snapshot": (waterfall.data or {}).get("snapshot"),
    }


def bottleneck_steps(
    data: dict[str, Any], names: dict[str, str], kept: dict[str, str]
) -> list[dict[str, Any]]:
    named = (data.get("bottleneck") or {}).get("step")
    return [
        dict(
            step,
            label=f"{names.get(step['from'], step['from'])} → {names.get(step['to'], step['to'])}",
            is_bottleneck=step["step"] == named,
            entered_url=drilldown.url(kept, "waterfall", "entered", step["from"]),
            advanced_url=drilldown.url(kept, "waterfall", "advanced", step["from"]),
        )
        for step in data["steps"]
    ]


def flow_rows(data: dict[str, Any], names: dict[str, str], kept: dict[str, str]) -> list[dict[str, Any]]:
    return [
        dict(
            row,
            label=names.get(row["stage"], row["stage"]),
            **{
                f"{m}_url": drilldown.url(kept, "flow", m, row["stage"])
                for m in ("opening", "balance", "stalled")
            },
        )
        for row in data["stages"]
    ]
