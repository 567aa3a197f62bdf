"""Handoffs: both sides of every boundary between two teams, in one result — the sending
team's *lead quality* (how much of what it hands on is accepted, and why the rest is
rejected) next to the receiving team's *follow-up quality* (how much is acted on within
the SLA, and how fast).

A boundary is (handoff stage, sending team → receiving team); every handoff stage of the
stage model is listed, with zeros when nothing crossed it. A handoff's state is taken at
``as_of``: accepted or rejected when it was acted on at or before ``as_of``, open otherwise;
handoffs created after ``as_of`` are not counted.

Definitions (docs/metrics.md):

- of the handoffs **created in the window**: ``created``, ``accepted``, ``rejected``,
  ``open``; **acceptance rate** = accepted ÷ (accepted + rejected) (open ones excluded);
  **reject reasons** with their counts, each split by the subject's lead source;
  **speed to lead** = median and 80th percentile (and mean) of the hours (wall clock) from
  creation to the first action (accept or reject), over the handoffs acted on;
- of the handoffs **due in the window** (``due_at`` in it): ``due`` = those acted on, or
  still open past their due time at ``as_of`` (an open handoff not yet due is left out and
  counted as ``not_yet_due``); ``met`` = acted on at or before the due time; **SLA
  compliance** = met ÷ due; **breached** = due − met = ``acted_late`` + ``open_overdue``.

Slices: the person dimensions of the handoff's subject (segment, industry, country, source,
campaign, company_size), ``owner`` = the user the handoff is **assigned to** (not the
person's owner), and ``month`` / ``quarter`` of creation (of the due time for the SLA
figures). The owner's ``team`` is not a dimension here: the boundary names the teams.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from kyogyo.analytics.dimensions import NONE_LABEL, Dimension, Slicing, slicing, subject_dimensions
from kyogyo.analytics.metrics.base import Context, slice_label
from kyogyo.analytics.spec import Spec, SpecError, rounded

NAME = "handoffs"
HELP = (
    "per boundary: acceptance and reject reasons (sender) beside SLA compliance and speed to lead (receiver)"
)
SECONDS_PER_HOUR = 3600.0
MARKER = "__WHEN__"
PERIOD_KEYS = {
    "month": f"(year({MARKER}) * 100 + month({MARKER}))",
    "quarter": f"(year({MARKER}) * 10 + quarter({MARKER}))",
}
ASSIGNED_TO = "LEFT JOIN users au ON au.id = h.assigned_to_id"
TOTAL = ("__total__",)
Boundary = tuple[str, str, str]  # stage, from team, to team


def handoff_dimensions(company_size_edges: Sequence[int]) -> dict[str, Dimension]:
    """The person dimensions of the handoff's subject, with ``owner`` = the assignee."""
    dimensions = subject_dimensions(company_size_edges)
    dimensions.pop("team")
    dimensions["owner"] = Dimension(
        "owner", f"COALESCE(NULLIF(au.username, ''), '{NONE_LABEL}')", ASSIGNED_TO
    )
    return dimensions


@dataclass
class BoundaryHandoffs:
    stage: str
    from_team: str
    to_team: str
    created: int = 0
    accepted: int = 0
    rejected: int = 0
    open: int = 0
    reject_reasons: dict[str, dict[str, int]] = field(default_factory=dict)  # reason → source → n
    acted: int = 0
    speed_median: float | None = None
    speed_p80: float | None = None
    speed_mean: float | None = None
    due: int = 0
    met: int = 0
    acted_late: int = 0
    open_overdue: int = 0
    not_yet_due: int = 0

    def as_dict(self, context: Context, labels: dict[str, str]) -> dict[str, Any]:
        acceptance = context.rate(self.accepted, self.accepted + self.rejected).as_dict()
        compliance = context.rate(self.met, self.due).as_dict()
        reasons = sorted(self.reject_reasons.items(), key=lambda item: (-sum(item[1].values()), item[0]))
        return {
            "stage": self.stage,
            "from_team": self.from_team,
            "to_team": self.to_team,
            "created": self.created,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "open": self.open,
            "lead_quality": {
                "team": self.from_team,
                "acceptance_rate": acceptance["value"],
                "acceptance": acceptance,
                "reject_reasons": [
                    {
                        "reason": reason,
                        "label": labels.get(reason, reason),
                        "count": sum(by_source.values()),
                        "by_source": [
                            {"source": source, "count": n}
                            for source, n in sorted(by_source.items(), key=lambda x: (-x[1], x[0]))
                        ],
                    }
                    for reason, by_source in reasons
                ],
            },
            "follow_up_quality": {
                "team": self.to_team,
                "due": self.due,
                "met": self.met,
                "breached": self.acted_late + self.open_overdue,
                "acted_late": self.acted_late,
                "open_overdue": self.open_overdue,
                "not_yet_due": self.not_yet_due,
                "sla_compliance_rate": compliance["value"],
                "sla_compliance": compliance,
                "speed_to_lead_hours": {
                    "count": self.acted,
                    "median": self.speed_median,
                    "p80": self.speed_p80,
                    "mean": self.speed_mean,
                },
            },
        }


@dataclass
class HandoffsResult:
    spec: Spec
    context: Context
    boundaries: list[BoundaryHandoffs]
    reason_labels: dict[str, str]
    slices: list[tuple[dict[str, str], list[BoundaryHandoffs]]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "metric": NAME,
            **self.spec.describe(),
            "as_of": self.context.as_of.isoformat(),
            "boundaries": [b.as_dict(self.context, self.reason_labels) for b in self.boundaries],
            "snapshot": self.context.freshness(),
        }
        if self.spec.by:
            data["slices"] = [
                {
                    **slice_label(keys),
                    "boundaries": [b.as_dict(self.context, self.reason_labels) for b in rows],
                }
                for keys, rows in self.slices
            ]
        return data


def compute(context: Context, spec: Spec) -> HandoffsResult:
    if spec.unit != "person":
        raise SpecError("bad_unit", f"{NAME} counts handoffs of people; --unit account does not apply")
    cut = slicing(spec, handoff_dimensions(context.settings.company_size_edges), PERIOD_KEYS)
    found: dict[tuple, dict[Boundary, BoundaryHandoffs]] = {}

    def boundary(slot: tuple, key: Boundary) -> BoundaryHandoffs:
        return found.setdefault(slot, {}).setdefault(key, BoundaryHandoffs(*key))

    width = len(cut.keys)
    for r in context.snapshot.query(*created_sql(context, spec, cut)):
        b = boundary(_slot(r, width), (r[0], r[1], r[2]))
        b.created, b.accepted, b.rejected, b.open, b.acted = (int(v) for v in r[4 + width : 9 + width])
        b.speed_median, b.speed_p80, b.speed_mean = (rounded(v) for v in r[9 + width : 12 + width])
    for r in context.snapshot.query(*due_sql(context, spec, cut)):
        b = boundary(_slot(r, width), (r[0], r[1], r[2]))
        b.due, b.met, b.acted_late, b.open_overdue, b.not_yet_due = (int(v) for v in r[4 + width : 9 + width])
    for r in context.snapshot.query(*reasons_sql(context, spec, cut)):
        b = boundary(_slot(r, width), (r[0], r[1], r[2]))
        b.reject_reasons.setdefault(r[-3] or NONE_LABEL, {})[r[-2]] = int(r[-1])
    configured = configured_boundaries(context)
    result = HandoffsResult(
        spec=spec,
        context=context,
        boundaries=_ordered(context, configured, found.pop(TOTAL, {})),
        reason_labels=reject_labels(context),
    )
    for keys in sorted(found, key=lambda k: tuple(str(v) for v in k)):
        labels = {name: _label(name, v) for name, v in zip(spec.by, keys, strict=True)}
        result.slices.append((labels, _ordered(context, configured, found[keys])))
    return result


def configured_boundaries(context: Context) -> list[Boundary]:
    return [(s.key, s.team, s.hands_to) for s in context.stages if s.team and s.hands_to]


def reject_labels(context: Context) -> dict[str, str]:
    return dict(context.snapshot.query("SELECT key, label FROM reasons WHERE kind = 'reject'"))


def _handoffs(cut: Slicing, when: str) -> str:
    """The handoffs with their state at ``as_of`` (2 parameters) and slice keys, created at or
    before ``as_of`` (1 parameter), filtered (``cut.params``). Month keys are of ``when``."""
    keys = "".join(f", {k.replace(MARKER, when)} AS k{i}" for i, k in enumerate(cut.keys))
    acted = "h.status <> 'open' AND h.acted_at <= ?"
    return (
        f"SELECT h.id AS handoff_id, h.stage, h.from_team, h.to_team, h.created_at, h.due_at, h.reason, "
        f"CASE WHEN {acted} THEN h.status ELSE 'open' END AS state, "
        f"CASE WHEN {acted} THEN h.acted_at END AS acted, "
        f"COALESCE(NULLIF(s.source, ''), '{NONE_LABEL}') AS src{keys} "
        f"FROM handoffs h LEFT JOIN subjects s ON s.subject_id = h.subject_id {cut.joins} "
        f"WHERE h.created_at <= ? AND {cut.where}"
    )


def _group(cut: Slicing, columns: str) -> tuple[str, str, str]:
    """(total flag, key column list, GROUP BY) with the totals through grouping sets."""
    names = ", ".join(f"k{i}" for i in range(len(cut.keys)))
    if not names:
        return "true", "", columns
    return f"grouping({names}) > 0", f", {names}", f"GROUPING SETS (({columns}, {names}), ({columns}))"


def created_sql(context: Context, spec: Spec, cut: Slicing) -> tuple[str, list[Any]]:
    total, keys, group = _group(cut, "stage, from_team, to_team")
    window, window_params = spec.window_sql("created_at")
    hours = f"date_diff('second', created_at, acted) / {SECONDS_PER_HOUR}"
    sql = (
        f"SELECT stage, from_team, to_team, {total}{keys}, count(*), "
        "count(*) FILTER (WHERE state = 'accepted'), count(*) FILTER (WHERE state = 'rejected'), "
        "count(*) FILTER (WHERE state = 'open'), count(hours), "
        "quantile_cont(hours, 0.5), quantile_cont(hours, 0.8), avg(hours) "
        f"FROM (SELECT *, {hours} AS hours FROM ({_handoffs(cut, 'h.created_at')}) WHERE {window}) "
        f"GROUP BY {group}"
    )
    as_of = context.as_of
    return sql, [as_of, as_of, as_of, *cut.params, *window_params]


def due_sql(context: Context, spec: Spec, cut: Slicing) -> tuple[str, list[Any]]:
    total, keys, group = _group(cut, "stage, from_team, to_team")
    window, window_params = spec.window_sql("due_at")
    sql = (
        f"SELECT stage, from_team, to_team, {total}{keys}, "
        "count(*) FILTER (WHERE acted IS NOT NULL OR due_at < ?), "
        "count(*) FILTER (WHERE acted <= due_at), count(*) FILTER (WHERE acted > due_at), "
        "count(*) FILTER (WHERE acted IS NULL AND due_at < ?), "
        "count(*) FILTER (WHERE acted IS NULL AND due_at >= ?) "
        f"FROM ({_handoffs(cut, 'h.due_at')}) WHERE {window} GROUP BY {group}"
    )
    as_of = context.as_of
    return sql, [as_of, as_of, as_of, as_of, as_of, as_of, *cut.params, *window_params]


def reasons_sql(context: Context, spec: Spec, cut: Slicing) -> tuple[str, list[Any]]:
    total, keys, group = _group(cut, "stage, from_team, to_team, reason, src")
    window, window_params = spec.window_sql("created_at")
    sql = (
        f"SELECT stage, from_team, to_team, {total}{keys}, reason, src, count(*) "
        f"FROM ({_handoffs(cut, 'h.created_at')}) WHERE state = 'rejected' AND {window} GROUP BY {group}"
    )
    as_of = context.as_of
    return sql, [as_of, as_of, as_of, *cut.params, *window_params]


def _slot(row: Sequence[Any], width: int) -> tuple:
    return TOTAL if row[3] else tuple(row[4 : 4 + width])


def _label(dimension: str, value: Any) -> str:
    if dimension == "month":
        return f"{value // 100}-{value % 100:02d}"
    if dimension == "quarter":
        return f"{value // 10}-Q{value % 10}"
    return str(value)


def _ordered(
    context: Context, configured: list[Boundary], found: dict[Boundary, BoundaryHandoffs]
) -> list[BoundaryHandoffs]:
    """The stage model's boundaries in stage order (zeros where nothing crossed), then any
    other boundary found among the handoffs (e.g. from an older stage model)."""
    order = {s.key: s.order for s in context.stages}
    extra = sorted((k for k in found if k not in configured), key=lambda k: (order.get(k[0], 10**6), k))
    return [found.get(k) or BoundaryHandoffs(*k) for k in [*configured, *extra]]


def rows(data: dict[str, Any]) -> tuple[list[str], list[Sequence[Any]]]:
    headers = [
        "slice",
        "stage",
        "from_team",
        "to_team",
        "created",
        "accepted",
        "rejected",
        "open",
        "acceptance_rate",
        "due",
        "met",
        "breached",
        "sla_compliance_rate",
        "speed_median_hours",
        "speed_p80_hours",
    ]
    out: list[Sequence[Any]] = []
    groups = [("(all)", data["boundaries"])] + [(s["key"], s["boundaries"]) for s in data.get("slices", [])]
    for key, boundaries in groups:
        for b in boundaries:
            lead, follow = b["lead_quality"], b["follow_up_quality"]
            out.append(
                [
                    key,
                    b["stage"],
                    b["from_team"],
                    b["to_team"],
                    b["created"],
                    b["accepted"],
                    b["rejected"],
                    b["open"],
                    lead["acceptance_rate"],
                    follow["due"],
                    follow["met"],
                    follow["breached"],
                    follow["sla_compliance_rate"],
                    follow["speed_to_lead_hours"]["median"],
                    follow["speed_to_lead_hours"]["p80"],
                ]
            )
    return headers, out


# --- the records behind one cell (the dashboard's drill-down) ------------------------

CREATED_MEASURES = ("created", "accepted", "rejected", "open")
DUE_MEASURES = ("due", "met", "breached")


def cell_sql(context: Context, spec: Spec, stage: str, measure: str) -> tuple[str, list[Any]]:
    """The handoff ids behind one number of a boundary (the handoff stage ``stage``), by the
    same definitions as ``compute``: a SELECT of ``handoff_id``, unordered."""
    if measure not in CREATED_MEASURES + DUE_MEASURES:
        raise SpecError(
            "bad_measure", f"a handoff number is one of {', '.join(CREATED_MEASURES + DUE_MEASURES)}"
        )
    if stage not in {b[0] for b in configured_boundaries(context)}:
        raise SpecError("unknown_stage", f"{stage} is not a handoff stage")
    cut = slicing(replace(spec, by=()), handoff_dimensions(context.settings.company_size_edges))
    as_of = context.as_of
    if measure in CREATED_MEASURES:
        window, window_params = spec.window_sql("created_at")
        state = "" if measure == "created" else f" AND state = '{measure}'"
        base = _handoffs(cut, "h.created_at")
        return (
            f"SELECT handoff_id FROM ({base}) WHERE stage = ? AND {window}{state}",
            [as_of, as_of, as_of, *cut.params, stage, *window_params],
        )
    window, window_params = spec.window_sql("due_at")
    # a handoff open past its due time at as_of counts as due (and breached)
    condition, extra = {
        "due": ("(acted IS NOT NULL OR due_at < ?)", [as_of]),
        "met": ("acted <= due_at", []),
        "breached": ("(acted > due_at OR (acted IS NULL AND due_at < ?))", [as_of]),
    }[measure]
    base = _handoffs(cut, "h.due_at")
    return (
        f"SELECT handoff_id FROM ({base}) WHERE stage = ? AND {window} AND {condition}",
        [as_of, as_of, as_of, *cut.params, stage, *window_params, *extra],
    )
