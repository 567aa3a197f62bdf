"""The dimensions a metric over people can be sliced and filtered by, as SQL over the
snapshot's ``subjects`` table (aliased ``s``).

| dimension | meaning |
|---|---|
| segment, industry, country | of the person's company |
| source | the person's lead source (channel) |
| campaign | the campaign of the person's first touch that had one |
| owner, team | the person's owner and the owner's team |
| company_size | band of the company's employee count (edges are a setting) |
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from kyogyo.analytics.spec import Spec, SpecError

FIRST_TOUCH_CAMPAIGN = (
    "LEFT JOIN (SELECT contact_id, arg_min(campaign_id, day) AS campaign_id FROM activity_days "
    "WHERE campaign_id IS NOT NULL GROUP BY contact_id) ft ON ft.contact_id = s.subject_id "
    "LEFT JOIN campaigns fc ON fc.id = ft.campaign_id"
)
OWNER = "LEFT JOIN users ou ON ou.id = s.owner_id"

NONE_LABEL = "(none)"


@dataclass(frozen=True)
class Dimension:
    key: str
    expression: str
    join: str = ""


def band_expression(column: str, edges: Sequence[int], unit: str = "") -> str:
    """A CASE giving each value its band label: ``<50``, ``50–299``, ``1000+``."""
    if not edges:
        return "'all'"
    cases = [
        f"WHEN {column} IS NULL THEN '{NONE_LABEL}'",
        f"WHEN {column} < {edges[0]} THEN '<{edges[0]}{unit}'",
    ]
    for low, high in itertools.pairwise(edges):
        cases.append(f"WHEN {column} < {high} THEN '{low}–{high - 1}{unit}'")
    return f"CASE {' '.join(cases)} ELSE '{edges[-1]}{unit}+' END"


def band_labels(edges: Sequence[int], unit: str = "") -> list[str]:
    if not edges:
        return ["all"]
    labels = [f"<{edges[0]}{unit}"]
    labels += [f"{low}–{high - 1}{unit}" for low, high in itertools.pairwise(edges)]
    return [*labels, f"{edges[-1]}{unit}+"]


def _text(column: str) -> str:
    return f"COALESCE(NULLIF({column}, ''), '{NONE_LABEL}')"


def subject_dimensions(company_size_edges: Sequence[int]) -> dict[str, Dimension]:
    return {
        "segment": Dimension("segment", _text("s.segment")),
        "industry": Dimension("industry", _text("s.industry")),
        "country": Dimension("country", _text("s.country")),
        "source": Dimension("source", _text("s.source")),
        "team": Dimension("team", _text("s.owner_team")),
        "owner": Dimension("owner", _text("ou.username"), OWNER),
        "campaign": Dimension("campaign", _text("fc.name"), FIRST_TOUCH_CAMPAIGN),
        "company_size": Dimension("company_size", band_expression("s.employee_count", company_size_edges)),
    }


@dataclass(frozen=True)
class Slicing:
    """The SELECT expressions, JOINs and WHERE conditions a spec asks for."""

    keys: list[str]  # expressions, one per ``by`` dimension, aliased k0, k1, …
    joins: str
    where: str
    params: list[str]


def slicing(spec: Spec, dimensions: dict[str, Dimension], extra: dict[str, str] | None = None) -> Slicing:
    """``extra`` maps dimension names the metric evaluates itself (e.g. a cohort month) to
    their SQL; they can be sliced by but not filtered on."""
    extra = extra or {}
    known = sorted([*dimensions, *extra])
    joins: list[str] = []
    keys: list[str] = []
    for name in spec.by:
        if name in extra:
            keys.append(extra[name])
            continue
        if name not in dimensions:
            raise SpecError("unknown_dimension", f"cannot slice by {name!r}; choose from {', '.join(known)}")
        dim = dimensions[name]
        keys.append(dim.expression)
        if dim.join and dim.join not in joins:
            joins.append(dim.join)
    where, params = [], []
    for name, value in spec.filters.items():
        if name not in dimensions:
            raise SpecError(
                "unknown_dimension", f"cannot filter on {name!r}; choose from {', '.join(sorted(dimensions))}"
            )
        dim = dimensions[name]
        where.append(f"{dim.expression} = ?")
        params.append(value)
        if dim.join and dim.join not in joins:
            joins.append(dim.join)
    return Slicing(keys, " ".join(joins), " AND ".join(where) or "TRUE", params)
