"""Lead classification: of the leads created in the window, which were ready *now*, which
will buy *later* and which *never* will — the book's 10 / 65 / 25 — and what becomes of
the nurtured ones that come back.

Definitions, over the transition log up to ``as_of``:

- the cohort: subjects whose **first entry into the entry stage** (the first stage of the
  path, *lead*) falls in the window;
- each lead is classified by the first of these it entered (lowest ``seq``): the first
  handoff stage (*MQL*: the first path stage that hands on to another team) or any later
  path stage → **now**; a ``recycle`` stage (nurture) → **later**; an ``exit`` stage
  (disqualified) → **never**; none of them yet → **undecided** (still a lead). Shares are of
  the whole cohort (``share``) and of the decided leads (``share_of_decided``: what the
  reference is best compared with while a cohort is young);
- the reference: ``AnalyticsSettings.benchmarks["classification"]`` (``{"now": 0.1,
  "later": 0.65, "never": 0.25}``, fractions) when set, else the book's 10 % / 65 % / 25 %;
- **nurture return rate**: of the subjects whose first entry into a recycle stage falls in
  the window, the share that entered MQL after it (``returned``), with the median days from
  that first nurture entry to the return;
- **downstream** (SAL, SQL, won: the two path stages after MQL and the first customer
  stage): of the returners, the share that entered each after their return; beside it, of
  the **first-time MQLs** (first MQL entry in the window, no recycle stage before it), the
  share that entered each after that first MQL.

Slices: the person dimensions (``kyogyo.analytics.dimensions``) and ``month`` / ``quarter``
of each group's own cohort time (lead creation, first nurture entry, first MQL).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from kyogyo.analytics.dimensions import slicing, subject_dimensions
from kyogyo.analytics.metrics.base import Context, slice_label
from kyogyo.analytics.spec import Spec, SpecError, rounded

NAME = "classification"
HELP = "now / later / never shares of new leads against the 10/65/25 reference; nurture return and conversion"
CLASSES = ("now", "later", "never")
BOOK_REFERENCE = {"now": 0.10, "later": 0.65, "never": 0.25}
SECONDS_PER_DAY = 86400.0
MARKER = "__AT__"
PERIOD_KEYS = {
    "month": f"(year({MARKER}) * 100 + month({MARKER}))",
    "quarter": f"(year({MARKER}) * 10 + quarter({MARKER}))",
}
TOTAL = ("__total__",)


@dataclass(frozen=True)
class Stages:
    """The stages the classification is read from."""

    entry: str
    mql: str
    now: list[str]  # MQL and every path stage after it
    recycle: list[str]
    exit: list[str]
    downstream: list[str]


@dataclass
class Counts:
    leads: int = 0
    classes: dict[str, int] = field(default_factory=lambda: dict.fromkeys((*CLASSES, "undecided"), 0))
    nurtured: int = 0
    returned: int = 0
    median_days_to_return: float | None = None
    returned_reached: list[int] = field(default_factory=list)
    first_mqls: int = 0
    first_reached: list[int] = field(default_factory=list)


@dataclass
class ClassificationResult:
    spec: Spec
    context: Context
    stages: Stages
    reference: dict[str, float]
    reference_source: str
    totals: Counts
    slices: list[tuple[dict[str, str], Counts]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "metric": NAME,
            **self.spec.describe(),
            "as_of": self.context.as_of.isoformat(),
            "stages": {
                "entry": self.stages.entry,
                "mql": self.stages.mql,
                "recycle": self.stages.recycle,
                "exit": self.stages.exit,
                "downstream": self.stages.downstream,
            },
            "reference": {**self.reference, "source": self.reference_source},
            **self._body(self.totals),
            "snapshot": self.context.freshness(),
        }
        if self.spec.by:
            data["slices"] = [{**slice_label(keys), **self._body(counts)} for keys, counts in self.slices]
        return data

    def _body(self, counts: Counts) -> dict[str, Any]:
        rate = self.context.rate
        decided = sum(counts.classes[c] for c in CLASSES)
        classes = {}
        for name in CLASSES:
            share = rate(counts.classes[name], counts.leads).as_dict()
            classes[name] = {
                "count": counts.classes[name],
                "share": share,
                "share_of_decided": rate(counts.classes[name], decided).as_dict(),
                "reference": self.reference[name],
                "difference": None
                if share["value"] is None
                else round(share["value"] - self.reference[name], 4),
            }
        downstream = self.stages.downstream
        return {
            "leads": counts.leads,
            "decided": decided,
            "classes": classes,
            "undecided": {
                "count": counts.classes["undecided"],
                "share": rate(counts.classes["undecided"], counts.leads).as_dict(),
            },
            "nurture": {
                "entered": counts.nurtured,
                "returned": counts.returned,
                "return_rate": rate(counts.returned, counts.nurtured).as_dict(),
                "median_days_to_return": counts.median_days_to_return,
                "returners_reached": {
                    stage: rate(n, counts.returned).as_dict()
                    for stage, n in zip(
                        downstream, counts.returned_reached or [0] * len(downstream), strict=True
                    )
                },
                "first_time_mqls": counts.first_mqls,
                "first_time_reached": {
                    stage: rate(n, counts.first_mqls).as_dict()
                    for stage, n in zip(
                        downstream, counts.first_reached or [0] * len(downstream), strict=True
                    )
                },
            },
        }


def compute(context: Context, spec: Spec) -> ClassificationResult:
    if spec.unit != "person":
        raise SpecError("bad_unit", f"{NAME} counts people (leads); --unit account does not apply")
    stages = classification_stages(context)
    reference, source = reference_shares(context)
    cut = slicing(spec, subject_dimensions(context.settings.company_size_edges), PERIOD_KEYS)
    found: dict[tuple, Counts] = {}
    width = len(cut.keys)
    sql, params = classification_sql(context, spec, stages, cut.keys, cut.joins, cut.where, cut.params)
    for row in context.snapshot.query(sql, params):
        group, is_total, keys, values = row[0], row[1], tuple(row[2 : 2 + width]), row[2 + width :]
        counts = found.setdefault(TOTAL if is_total else keys, Counts())
        _take(counts, group, values, len(stages.downstream))
    result = ClassificationResult(
        spec=spec,
        context=context,
        stages=stages,
        reference=reference,
        reference_source=source,
        totals=found.pop(TOTAL, Counts()),
    )
    for keys in sorted(found, key=lambda k: tuple(str(v) for v in k)):
        labels = {name: _label(name, v) for name, v in zip(spec.by, keys, strict=True)}
        result.slices.append((labels, found[keys]))
    return result


def classification_stages(context: Context) -> Stages:
    path = context.path()
    if not path:
        raise SpecError("no_path", "the stage model has no prospect stages to classify leads by")
    handing = [i for i, s in enumerate(path) if s.hands_to]
    if not handing:
        raise SpecError("no_handoff_stage", "no stage on the path hands leads on to another team (an MQL)")
    first = handing[0]
    mql = path[first].key
    after = [context.next_on_path(mql)]
    after.append(context.next_on_path(after[0]) if after[0] else None)
    customer = next((s.key for s in path if s.category == "customer"), None)
    downstream = list(dict.fromkeys(k for k in [*after, customer] if k))
    return Stages(
        entry=path[0].key,
        mql=mql,
        now=[s.key for s in path[first:]],
        recycle=[s.key for s in context.stages if s.category == "recycle"],
        exit=[s.key for s in context.stages if s.category == "exit"],
        downstream=downstream,
    )


def reference_shares(context: Context) -> tuple[dict[str, float], str]:
    """The now / later / never reference: the benchmark setting, else the book's."""
    configured = (context.settings.benchmarks or {}).get("classification")
    if configured is None:
        return dict(BOOK_REFERENCE), "default"
    if not isinstance(configured, dict) or set(configured) != set(CLASSES):
        raise SpecError(
            "bad_benchmark",
            'the "classification" benchmark must give now, later and never, e.g. '
            '{"now": 0.1, "later": 0.65, "never": 0.25}',
        )
    values = {}
    for name in CLASSES:
        value = configured[name]
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise SpecError(
                "bad_benchmark",
                f'the "classification" benchmark for {name} must be a fraction 0–1, not {value!r}',
            )
        values[name] = float(value)
    return values, "settings"


def _in(keys: list[str]) -> str:
    return "(" + ", ".join(f"'{k}'" for k in keys) + ")" if keys else "(NULL)"


def classification_sql(
    context: Context,
    spec: Spec,
    stages: Stages,
    key_exprs: list[str],
    joins: str,
    where: str,
    where_params: list[Any],
) -> tuple[str, list[Any]]:
    """One query, three groups (``leads``, ``nurture``, ``first_mql``) each with its counts
    per slice and in total: rows of (group, is total, keys…, values…)."""
    recycle, exit_, now = _in(stages.recycle), _in(stages.exit), _in(stages.now)
    decisive = _in([*stages.now, *stages.recycle, *stages.exit])
    mql = f"'{stages.mql}'"
    returned_reached = ", ".join(
        f"COALESCE(bool_or(t.to_stage = '{k}' AND t.seq > r.rseq), false) AS r{i}"
        for i, k in enumerate(stages.downstream)
    )
    first_reached = ", ".join(
        f"COALESCE(bool_or(t.to_stage = '{k}' AND t.seq > p.mseq), false) AS m{i}"
        for i, k in enumerate(stages.downstream)
    )
    ctes = (
        "WITH t AS (SELECT x.subject_id, x.seq, x.to_stage, x.at AS moved FROM transitions x WHERE x.at <= ?), "
        "per AS (SELECT subject_id, "
        f"arg_min(moved, seq) FILTER (WHERE to_stage = '{stages.entry}') AS created, "
        f"arg_min(to_stage, seq) FILTER (WHERE to_stage IN {decisive}) AS decision, "
        f"min(seq) FILTER (WHERE to_stage IN {recycle}) AS nseq, "
        f"arg_min(moved, seq) FILTER (WHERE to_stage IN {recycle}) AS nat, "
        f"min(seq) FILTER (WHERE to_stage = {mql}) AS mseq, "
        f"arg_min(moved, seq) FILTER (WHERE to_stage = {mql}) AS mat FROM t GROUP BY subject_id), "
        "ret AS (SELECT p.subject_id, min(t.seq) AS rseq, arg_min(t.moved, t.seq) AS rat FROM per p "
        f"JOIN t ON t.subject_id = p.subject_id AND t.seq > p.nseq AND t.to_stage = {mql} GROUP BY p.subject_id), "
        f"after AS (SELECT p.subject_id, {returned_reached}, {first_reached} FROM per p "
        "LEFT JOIN ret r ON r.subject_id = p.subject_id JOIN t ON t.subject_id = p.subject_id "
        "WHERE p.mseq IS NOT NULL GROUP BY p.subject_id), "
        "people AS (SELECT p.*, r.rseq, r.rat, "
        + ", ".join(
            [f"COALESCE(a.r{i}, false) AS r{i}" for i in range(len(stages.downstream))]
            + [f"COALESCE(a.m{i}, false) AS m{i}" for i in range(len(stages.downstream))]
        )
        + "".join(f", {'NULL' if MARKER in k else k} AS k{i}" for i, k in enumerate(key_exprs))
        + " FROM per p LEFT JOIN ret r ON r.subject_id = p.subject_id "
        f"LEFT JOIN after a ON a.subject_id = p.subject_id "
        f"LEFT JOIN subjects s ON s.subject_id = p.subject_id {joins} WHERE {where}) "
    )
    params: list[Any] = [context.as_of, *where_params]
    n = len(stages.downstream)
    width = 3 + n  # values per row: the widest group (nurture) has entered, returned, days + n
    parts = []

    def group(name: str, at: str, condition: str, values: list[str]) -> None:
        names = [f"k{i}" for i in range(len(key_exprs))]
        # the month / quarter keys are of this group's own time, the others were evaluated in ``people``
        keys = ", ".join(
            f"{k.replace(MARKER, at) if MARKER in k else f'k{i}'} AS k{i}" for i, k in enumerate(key_exprs)
        )
        total = f"grouping({', '.join(names)}) > 0" if names else "true"
        group_by = f" GROUP BY GROUPING SETS (({', '.join(names)}), ())" if names else ""
        padded = values + ["NULL"] * (width - len(values))
        window, window_params = spec.window_sql(at)
        inner = (
            f"SELECT * EXCLUDE ({', '.join(names)}), {keys} FROM people" if names else "SELECT * FROM people"
        )
        parts.append(
            f"SELECT '{name}' AS grp, {total} AS total{''.join(', ' + k for k in names)}, "
            f"{', '.join(padded)} FROM ({inner} WHERE {condition} AND {window}){group_by}"
        )
        params.extend(window_params)

    group(
        "leads",
        "created",
        "created IS NOT NULL",
        [
            "count(*)",
            f"count(*) FILTER (WHERE decision IN {now})",
            f"count(*) FILTER (WHERE decision IN {recycle})",
            f"count(*) FILTER (WHERE decision IN {exit_})",
        ],
    )
    group(
        "nurture",
        "nat",
        "nat IS NOT NULL",
        [
            "count(*)",
            "count(rseq)",
            f"quantile_cont(date_diff('second', nat, rat) / {SECONDS_PER_DAY}, 0.5)",
            *(f"count(*) FILTER (WHERE r{i})" for i in range(n)),
        ],
    )
    group(
        "first_mql",
        "mat",
        "mat IS NOT NULL AND (nseq IS NULL OR nseq > mseq)",
        ["count(*)", *(f"count(*) FILTER (WHERE m{i})" for i in range(n))],
    )
    return ctes + " UNION ALL ".join(parts), params


def _take(counts: Counts, group: str, values: Sequence[Any], n: int) -> None:
    if group == "leads":
        leads, now, later, never = (int(v or 0) for v in values[:4])
        counts.leads = leads
        counts.classes = {
            "now": now,
            "later": later,
            "never": never,
            "undecided": leads - now - later - never,
        }
    elif group == "nurture":
        counts.nurtured, counts.returned = int(values[0] or 0), int(values[1] or 0)
        counts.median_days_to_return = rounded(values[2])
        counts.returned_reached = [int(v or 0) for v in values[3 : 3 + n]]
    else:
        counts.first_mqls = int(values[0] or 0)
        counts.first_reached = [int(v or 0) for v in values[1 : 1 + n]]


def _label(dimension: str, value: Any) -> str:
    if dimension == "month":
        return f"{value // 100}-{value % 100:02d}"
    if dimension == "quarter":
        return f"{value // 10}-Q{value % 10}"
    return str(value)


def rows(data: dict[str, Any]) -> tuple[list[str], list[Sequence[Any]]]:
    """One row per slice and measure: the count, what it is a share of, the share and the
    reference (for now / later / never)."""
    headers = ["slice", "measure", "numerator", "denominator", "value", "reference"]
    out: list[Sequence[Any]] = []
    groups = [("(all)", data)] + [(s["key"], s) for s in data.get("slices", [])]
    for key, body in groups:
        for name in CLASSES:
            share = body["classes"][name]["share"]
            out.append(
                [
                    key,
                    name,
                    share["numerator"],
                    share["denominator"],
                    share["value"],
                    body["classes"][name]["reference"],
                ]
            )
        undecided = body["undecided"]["share"]
        out.append(
            [key, "undecided", undecided["numerator"], undecided["denominator"], undecided["value"], None]
        )
        nurture = body["nurture"]
        out.append([key, "nurture_return", *_rate(nurture["return_rate"]), None])
        for stage, rate in nurture["returners_reached"].items():
            out.append([key, f"returners_to_{stage}", *_rate(rate), None])
        for stage, rate in nurture["first_time_reached"].items():
            out.append([key, f"first_time_mqls_to_{stage}", *_rate(rate), None])
    return headers, out


def _rate(rate: dict[str, Any]) -> list[Any]:
    return [rate["numerator"], rate["denominator"], rate["value"]]
