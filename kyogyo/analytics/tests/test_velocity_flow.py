"""Velocity and flow & balance on hand-made journeys whose numbers can be checked by hand,
on the demo company against plain-Python computations from the operational rows, and
through `kyogyo report`."""

from __future__ import annotations

import datetime as dt
import io
import json
import statistics
from collections import Counter, defaultdict
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from kyogyo.analytics.metrics import flow, velocity
from kyogyo.analytics.spec import Spec, SpecError, percentile
from kyogyo.testing import T0, local

DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)
APRIL = {"start": dt.date(2026, 4, 1), "end": dt.date(2026, 4, 30)}
MAY = {"start": dt.date(2026, 5, 1), "end": dt.date(2026, 5, 31)}
TOKYO = ZoneInfo("Asia/Tokyo")


def report(*args: str) -> str:
    out = io.StringIO()
    call_command("report", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def by_stage(data: dict) -> dict[str, dict]:
    return {row["stage"]: row for row in data["stages"]}


@pytest.fixture
def four_people(make_contact, walk):
    """A: lead (6 Apr 10:00) → mql (+1 d) → sal (+2 d) → sql (+5 d) → opportunity (+6 d).
    B: lead → mql (+3 d) → rejected to nurture (+4 d) → mql again (+20 d) → sal (+21 d).
    C: lead only. D: lead in May (+40 d) → mql (+41 d)."""
    a = walk(
        make_contact(at=T0, source="web"),
        [("mql", T0 + DAY), ("sal", T0 + 2 * DAY), ("sql", T0 + 5 * DAY), ("opportunity", T0 + 6 * DAY)],
    )
    b = walk(
        make_contact(at=T0, source="web"),
        [
            ("mql", T0 + 3 * DAY),
            ("reject:no_need_now", T0 + 4 * DAY),
            ("mql", T0 + 20 * DAY),
            ("sal", T0 + 21 * DAY),
        ],
    )
    c = make_contact(at=T0, source="event")
    d = walk(make_contact(at=T0 + 40 * DAY, source="event"), [("mql", T0 + 41 * DAY)])
    return a, b, c, d


# ------------------------------------------------------------------ velocity, by hand


def test_velocity_median_p80_mean_and_count_per_stage(four_people, analytics):
    rows = by_stage(velocity.compute(analytics(), Spec(**APRIL)).as_dict())
    lead = rows["lead"]
    # A took 1 day to MQL, B 3 days; C has not advanced: p80 = 1 + 0.8 × (3 − 1)
    assert (lead["entered"], lead["advanced"], lead["not_advanced"]) == (3, 2, 1)
    assert (lead["median_days"], lead["p80_days"], lead["mean_days"]) == (2.0, 2.6, 2.0)
    mql = rows["mql"]
    # A: 1 day; B from its *first* MQL (9 Apr) to SAL (27 Apr): 18 days
    assert (mql["entered"], mql["advanced"]) == (2, 2)
    assert (mql["median_days"], mql["p80_days"], mql["mean_days"]) == (9.5, 14.6, 9.5)
    assert rows["sal"]["advanced"] == 1 and rows["sal"]["median_days"] == 3.0  # A: 8 → 11 April
    assert rows["sal"]["not_advanced"] == 1  # B is still in SAL
    assert rows["sql"]["median_days"] == 1.0
    assert rows["opportunity"]["advanced"] == 0 and rows["opportunity"]["median_days"] is None
    assert rows["won"]["entered"] == 0 and rows["won"]["p80_days"] is None
    assert rows["renewed"]["next_stage"] is None and rows["renewed"]["advanced"] is None


def test_velocity_horizon_and_as_of_leave_out_later_advances(four_people, analytics):
    rows = by_stage(velocity.compute(analytics(), Spec(horizon_days=2, **APRIL)).as_dict())
    assert rows["lead"]["advanced"] == 1 and rows["lead"]["median_days"] == 1.0  # B took 3 days
    early = analytics(as_of=local(2026, 4, 8, 12, 0))
    rows = by_stage(velocity.compute(early, Spec(**APRIL)).as_dict())
    assert rows["lead"]["advanced"] == 1  # on 8 April B was not an MQL yet
    assert rows["mql"]["entered"] == 1 and rows["mql"]["median_days"] == 1.0  # A's MQL → SAL


def test_velocity_slices_by_cohort_month_and_source(four_people, analytics):
    data = velocity.compute(analytics(), Spec(by=("month",))).as_dict()
    slices = {s["key"]: by_stage(s) for s in data["slices"]}
    assert slices["2026-04"]["lead"]["entered"] == 3
    assert slices["2026-05"]["lead"]["entered"] == 1 and slices["2026-05"]["lead"]["median_days"] == 1.0
    assert slices["2026-04"]["mql"]["entered"] == 2 and "2026-05" in slices
    totals = by_stage(data)
    assert totals["lead"]["entered"] == 4 and totals["lead"]["median_days"] == 1.0  # 1, 3, 1 days
    by_source = velocity.compute(analytics(), Spec(by=("source",))).as_dict()
    assert [s["keys"] for s in by_source["slices"]] == [{"source": "event"}, {"source": "web"}]
    web = by_stage(by_source["slices"][1])
    assert web["lead"]["entered"] == 2 and web["lead"]["median_days"] == 2.0


def test_velocity_account_unit_takes_the_company_first_entries(make_contact, walk, analytics):
    first = make_contact(at=T0)
    colleague = make_contact(at=T0 + DAY)
    colleague.account = first.account
    colleague.save()
    walk(first, [("mql", T0 + 3 * DAY)])
    walk(colleague, [("mql", T0 + 2 * DAY)])
    rows = by_stage(velocity.compute(analytics(), Spec(unit="account", **APRIL)).as_dict())
    assert rows["lead"]["entered"] == 1 and rows["lead"]["median_days"] == 2.0  # first lead → first MQL
    people = by_stage(velocity.compute(analytics(), Spec(**APRIL)).as_dict())
    assert people["lead"]["entered"] == 2 and people["lead"]["median_days"] == 2.0  # 3 and 1 days


def test_velocity_percentiles_follow_the_published_linear_method(make_contact, walk, analytics):
    """The classic percentile data set [15, 20, 35, 40, 50] with the linear method of Excel's
    PERCENTILE.INC / NumPy (index = p × (n − 1)); its published worked results are P25 = 20 and
    P30 = 20 + 0.2 × (35 − 20) = 23 (calcipedia.org, "Percentile calculator"). Velocity's median
    is 35 (index 2) and its p80 is 40 + 0.2 × (50 − 40) = 42 (index 3.2)."""
    days = [15, 20, 35, 40, 50]
    assert (percentile(days, 0.25), percentile(days, 0.30)) == (20, 23)
    for n in days:
        walk(make_contact(at=T0), [("mql", T0 + n * DAY)])
    lead = by_stage(velocity.compute(analytics(), Spec(**APRIL)).as_dict())["lead"]
    assert (lead["median_days"], lead["p80_days"], lead["mean_days"]) == (35.0, 42.0, 32.0)


# ------------------------------------------------------------------ velocity, edge cases


def test_velocity_on_an_empty_window(four_people, analytics):
    rows = by_stage(
        velocity.compute(analytics(), Spec(start=dt.date(2020, 1, 1), end=dt.date(2020, 1, 31))).as_dict()
    )
    assert all(r["entered"] == 0 for r in rows.values())
    assert all(r["median_days"] is None and r["p80_days"] is None for r in rows.values())


def test_velocity_with_no_data_at_all(defaults, analytics):
    rows = by_stage(velocity.compute(analytics(), Spec()).as_dict())
    assert rows["lead"] == {
        "stage": "lead",
        "name": "Lead",
        "next_stage": "mql",
        "entered": 0,
        "advanced": 0,
        "not_advanced": 0,
        "median_days": None,
        "p80_days": None,
        "mean_days": None,
    }


def test_velocity_slice_with_one_subject(four_people, analytics):
    a, *_ = four_people
    a.account.segment = "solo"
    a.account.save()
    rows = by_stage(velocity.compute(analytics(), Spec(filters={"segment": "solo"})).as_dict())
    assert rows["lead"]["entered"] == 1
    assert rows["lead"]["median_days"] == rows["lead"]["p80_days"] == rows["lead"]["mean_days"] == 1.0


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"by": ("shoe_size",)}, "unknown_dimension"),
        ({"filters": {"month": "2026-04"}}, "unknown_dimension"),
        ({"view": "period"}, "bad_view"),
    ],
)
def test_velocity_refuses_bad_input_by_name(four_people, analytics, kwargs, code):
    with pytest.raises(SpecError) as caught:
        velocity.compute(analytics(), Spec(**kwargs))
    assert caught.value.code == code


# ------------------------------------------------------------------ flow, by hand


@pytest.fixture
def six_people(four_people, make_contact, walk):
    """The four people above, and E: lead → mql (8 Apr) → rejected for incomplete
    information back to lead (8 Apr 12:00) → disqualified (16 Apr); G: lead on 20 April."""
    e = walk(
        make_contact(at=T0, source="event"),
        [
            ("mql", T0 + 2 * DAY),
            ("reject:incomplete_info", T0 + 2 * DAY + 2 * HOUR),
            ("disqualified", T0 + 10 * DAY),
        ],
    )
    g = make_contact(at=T0 + 14 * DAY, source="web")
    return (*four_people, e, g)


def test_flow_in_april_inflow_outflow_and_balance(six_people, analytics):
    data = flow.compute(analytics(), Spec(**APRIL)).as_dict()
    assert (data["opening_at"], data["balance_at"]) == ("2026-04-01T00:00:00", "2026-05-01T00:00:00")
    rows = by_stage(data)
    lead = rows["lead"]
    # A, B, C, E and G start as leads, E comes back once (a re-entry)
    assert (lead["opening"], lead["inflow"], lead["reentries"]) == (0, 6, 1)
    # A, B, E → MQL; E → disqualified after its return
    assert lead["outflow"] == {"advanced": 3, "recycled": 0, "disqualified": 1, "other": 0, "total": 4}
    assert lead["outflow_to"] == {"disqualified": 1, "mql": 3}
    # C since 6 April 10:00 (24 whole days at 1 May 00:00), G since 20 April (10 days)
    assert (lead["net"], lead["balance"]) == (2, 2)
    assert lead["age_buckets"] == {"0-7": 0, "8-30": 2, "31-90": 0, "91+": 0}
    assert (lead["stall_days"], lead["stalled"], lead["stalled_ids"]) == (30, 0, [])
    mql = rows["mql"]
    assert (mql["inflow"], mql["reentries"]) == (4, 1)  # A, B, E, and B again from nurture
    assert mql["outflow"] == {"advanced": 2, "recycled": 1, "disqualified": 0, "other": 1, "total": 4}
    assert mql["outflow_to"] == {"lead": 1, "nurture": 1, "sal": 2}
    assert mql["balance"] == 0 and mql["stalled"] is None  # MQL has no stall days
    assert rows["nurture"]["outflow"]["advanced"] == 1  # off the path, back onto it
    assert (rows["sal"]["balance"], rows["sal"]["age_buckets"]["0-7"]) == (1, 1)  # B since 27 April
    assert (rows["opportunity"]["balance"], rows["opportunity"]["age_buckets"]["8-30"]) == (1, 1)
    assert rows["disqualified"]["inflow"] == 1 and rows["disqualified"]["balance"] == 1
    assert rows["won"] == {**rows["won"], "inflow": 0, "balance": 0, "opening": 0}
    for row in rows.values():  # opening + inflow − outflow = balance, stage by stage
        assert row["opening"] + row["inflow"] - row["outflow"]["total"] == row["balance"], row["stage"]


def test_flow_in_may_opens_with_april_balance_and_lists_stalled(six_people, analytics):
    _a, b, c, _d, _e, g = six_people
    data = flow.compute(analytics(), Spec(**MAY)).as_dict()
    rows = by_stage(data)
    lead = rows["lead"]
    assert (lead["opening"], lead["inflow"], lead["outflow"]["advanced"], lead["balance"]) == (2, 1, 1, 2)
    # at 1 June: C has waited 55 whole days, G 41 — both above lead's 30 stall days, C first
    assert lead["age_buckets"] == {"0-7": 0, "8-30": 0, "31-90": 2, "91+": 0}
    assert (lead["stalled"], lead["stalled_ids"]) == (2, [c.pk, g.pk])
    assert (rows["sal"]["stalled"], rows["sal"]["stalled_ids"]) == (1, [b.pk])  # 34 days > 14
    assert rows["opportunity"]["stalled"] == 0  # 49 days, not above 60
    assert rows["mql"]["balance"] == 1 and rows["mql"]["age_buckets"]["8-30"] == 1  # D since 17 May
    limited = by_stage(flow.compute(analytics(), Spec(options={"stalled_limit": 1}, **MAY)).as_dict())
    assert (limited["lead"]["stalled"], limited["lead"]["stalled_ids"]) == (2, [c.pk])
    none = by_stage(flow.compute(analytics(), Spec(options={"stalled_limit": 0}, **MAY)).as_dict())
    assert none["lead"]["stalled_ids"] == [] and none["lead"]["stalled"] == 2


def test_flow_balance_is_measured_at_as_of_when_the_window_is_not_over(six_people, analytics):
    data = flow.compute(analytics(as_of=local(2026, 4, 10, 12, 0)), Spec(**APRIL)).as_dict()
    assert data["balance_at"] == "2026-04-10T12:00:00"
    rows = by_stage(data)
    # A is in SAL (its SQL came on 11 April), B in nurture since that morning, C and E (back) in lead
    assert rows["sal"]["balance"] == 1 and rows["nurture"]["balance"] == 1 and rows["lead"]["balance"] == 2
    assert rows["sql"]["inflow"] == 0  # A's SQL on 11 April is not counted yet
    with pytest.raises(SpecError) as caught:
        flow.compute(analytics(as_of=local(2026, 4, 10, 12, 0)), Spec(**MAY))
    assert caught.value.code == "window_after_as_of"


def test_flow_without_a_window_ends_at_as_of_and_matches_current_stages(six_people, analytics):
    context = analytics()
    rows = by_stage(flow.compute(context, Spec()).as_dict())
    current = Counter(r[0] for r in context.snapshot.query("SELECT current_stage FROM subjects"))
    assert {k: v["balance"] for k, v in rows.items() if v["balance"]} == dict(current)
    assert all(r["opening"] == 0 for r in rows.values())


def test_flow_slices_by_source(six_people, analytics):
    data = flow.compute(analytics(), Spec(by=("source",), **APRIL)).as_dict()
    slices = {s["key"]: by_stage(s) for s in data["slices"]}
    assert set(slices) == {"event", "web"}
    assert slices["web"]["lead"]["inflow"] == 3  # A, B, G
    assert slices["event"]["lead"]["inflow"] == 3  # C, E twice
    totals = by_stage(data)
    for stage, row in totals.items():
        assert row["inflow"] == sum(s[stage]["inflow"] for s in slices.values())
        assert row["balance"] == sum(s[stage]["balance"] for s in slices.values())


# ------------------------------------------------------------------ flow, edge cases


def test_flow_empty_window_and_empty_database(defaults, analytics):
    data = flow.compute(analytics(), Spec(start=dt.date(2020, 1, 1), end=dt.date(2020, 1, 31))).as_dict()
    for row in data["stages"]:
        assert (row["opening"], row["inflow"], row["outflow"]["total"], row["balance"]) == (0, 0, 0, 0)
        assert row["stalled"] == (0 if row["stall_days"] is not None else None)
    assert [r["stage"] for r in data["stages"]][-2:] == ["nurture", "disqualified"]


def test_flow_a_filter_with_one_subject(six_people, analytics):
    a, *_ = six_people
    a.account.segment = "solo"
    a.account.save()
    rows = by_stage(flow.compute(analytics(), Spec(filters={"segment": "solo"}, **APRIL)).as_dict())
    assert rows["lead"]["inflow"] == 1 and rows["opportunity"]["balance"] == 1
    assert sum(r["balance"] for r in rows.values()) == 1


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"options": {"stalled_limit": -1}}, "bad_stalled_limit"),
        ({"options": {"stalled_limit": "many"}}, "bad_stalled_limit"),
        ({"by": ("month",)}, "unknown_dimension"),
        ({"unit": "account"}, "bad_unit"),
    ],
)
def test_flow_refuses_bad_input_by_name(six_people, analytics, kwargs, code):
    with pytest.raises(SpecError) as caught:
        flow.compute(analytics(), Spec(**kwargs))
    assert caught.value.code == code


# ------------------------------------------------------------------ against plain Python


def _local(value: dt.datetime) -> dt.datetime:
    return value.astimezone(TOKYO).replace(tzinfo=None, microsecond=0)


@pytest.fixture
def demo(defaults, analytics):
    from kyogyo.demo.build import build

    build(seed=5, people=600, end=dt.date(2026, 10, 31), driver="bulk")
    return analytics()


def test_velocity_matches_plain_python_on_the_demo_company(demo):
    """Median, p80, mean and counts per stage, from the milestones rows without SQL."""
    from kyogyo.journey.models import Milestone

    spec = Spec(start=dt.date(2025, 7, 1), end=dt.date(2026, 6, 30))
    rows = by_stage(velocity.compute(demo, spec).as_dict())
    firsts = [
        {k: _local(dt.datetime.fromisoformat(v)) for k, v in m.first_entered.items()}
        for m in Milestone.objects.all()
    ]
    start, end = local(2025, 7, 1), local(2026, 7, 1)
    checked = 0
    for stage in demo.path():
        nxt = demo.next_on_path(stage.key)
        cohort = [f for f in firsts if stage.key in f and start <= f[stage.key] < end]
        assert rows[stage.key]["entered"] == len(cohort), stage.key
        if nxt is None:
            continue
        days = [
            (f[nxt] - f[stage.key]).total_seconds() / 86400
            for f in cohort
            if nxt in f and f[nxt] >= f[stage.key]
        ]
        row = rows[stage.key]
        assert row["advanced"] == len(days), stage.key
        expected = (
            (statistics.median(days), percentile(days, 0.8), statistics.fmean(days)) if days else (None,) * 3
        )
        for got, want in zip((row["median_days"], row["p80_days"], row["mean_days"]), expected, strict=True):
            assert got == (None if want is None else pytest.approx(want, abs=0.006)), stage.key
        checked += len(days)
    assert checked > 80


def _reference_flow(start: dt.datetime, end: dt.datetime, limit: int, source: str | None = None) -> dict:
    """Flow and balance per stage straight from the transition rows."""
    from kyogyo.journey.models import Stage, Transition

    stages = {s.key: s for s in Stage.objects.all()}
    path = ["lead", "mql", "sal", "sql", "opportunity", "won", "onboarding", "active"]
    path += [s.key for s in sorted(stages.values(), key=lambda s: s.order) if s.category == "outcome"]
    moves = defaultdict(list)
    query = Transition.objects.select_related("from_stage", "to_stage", "subject")
    for t in query.order_by("subject_id", "seq"):
        if source is None or t.subject.source == source:
            moves[t.subject_id].append(
                (
                    t.seq,
                    t.from_stage.key if t.from_stage else None,
                    t.to_stage.key,
                    _local(t.at),
                    t.is_reentry,
                )
            )
    out: dict[str, dict] = {
        k: {"inflow": 0, "reentries": 0, "out": Counter(), "opening": 0, "held": []} for k in stages
    }
    for subject, rows in moves.items():
        for _seq, origin, target, at, reentry in rows:
            if start <= at < end:
                out[target]["inflow"] += 1
                out[target]["reentries"] += reentry
                if origin is not None:
                    if stages[target].category == "recycle":
                        kind = "recycled"
                    elif stages[target].category == "exit":
                        kind = "disqualified"
                    elif target in path and (origin not in path or path.index(target) > path.index(origin)):
                        kind = "advanced"
                    else:
                        kind = "other"
                    out[origin]["out"][kind] += 1
        before = [r for r in rows if r[3] < start]
        if before:
            out[before[-1][2]]["opening"] += 1
        held = [r for r in rows if r[3] < end]
        if held:
            age = int((end - held[-1][3]).total_seconds() // 86400)
            out[held[-1][2]]["held"].append((age, subject))
    result = {}
    for key, found in out.items():
        stall = stages[key].stall_days
        stalled = sorted(
            ((-age, subject) for age, subject in found["held"] if stall is not None and age > stall)
        )
        result[key] = {
            "opening": found["opening"],
            "inflow": found["inflow"],
            "reentries": found["reentries"],
            "outflow": {k: found["out"][k] for k in flow.OUTFLOW_KINDS},
            "balance": len(found["held"]),
            "age_buckets": {
                label: sum(1 for age, _ in found["held"] if age >= low and (high is None or age <= high))
                for label, low, high in flow.AGE_BUCKETS
            },
            "stalled": None if stall is None else len(stalled),
            "stalled_ids": [subject for _, subject in stalled][:limit],
        }
    return result


def _comparable(row: dict) -> dict:
    return {
        "opening": row["opening"],
        "inflow": row["inflow"],
        "reentries": row["reentries"],
        "outflow": {k: row["outflow"][k] for k in flow.OUTFLOW_KINDS},
        "balance": row["balance"],
        "age_buckets": row["age_buckets"],
        "stalled": row["stalled"],
        "stalled_ids": row["stalled_ids"],
    }


def test_flow_matches_plain_python_on_the_demo_company(demo):
    """Every stage's inflow, outflow kinds, opening, balance, ages and stalled ids for a
    quarter, in total and for one source, against the transition rows read through the ORM."""
    spec = Spec(
        start=dt.date(2026, 1, 1), end=dt.date(2026, 3, 31), by=("source",), options={"stalled_limit": 5}
    )
    data = flow.compute(demo, spec).as_dict()
    start, end = local(2026, 1, 1), local(2026, 4, 1)
    expected = _reference_flow(start, end, 5)
    got = {row["stage"]: _comparable(row) for row in data["stages"]}
    assert got == expected
    assert sum(r["inflow"] for r in expected.values()) > 100
    assert sum(r["balance"] for r in expected.values()) > 100
    biggest = max(data["slices"], key=lambda s: by_stage(s)["lead"]["inflow"])
    source = biggest["keys"]["source"]
    assert {row["stage"]: _comparable(row) for row in biggest["stages"]} == _reference_flow(
        start, end, 5, source
    )


# ------------------------------------------------------------------ through the command line


def test_cli_velocity_json_and_table(four_people):
    data = json.loads(report("velocity", "--format", "json", "--from", "2026-04-01", "--to", "2026-04-30"))
    assert data["metric"] == "velocity" and data["unit"] == "person" and data["horizon_days"] is None
    assert set(data) == {
        "metric",
        "unit",
        "horizon_days",
        "from",
        "to",
        "by",
        "filters",
        "as_of",
        "stages",
        "snapshot",
    }
    lead = by_stage(data)["lead"]
    assert (lead["entered"], lead["median_days"], lead["p80_days"]) == (3, 2.0, 2.6)
    sliced = json.loads(report("velocity", "--format", "json", "--by", "month"))
    assert [s["key"] for s in sliced["slices"]] == ["2026-04", "2026-05"]
    table = report("velocity", "--from", "2026-04-01", "--to", "2026-04-30")
    assert table.splitlines()[0].split()[:4] == ["slice", "stage", "next_stage", "entered"]


def test_cli_flow_json_with_stalled_limit_and_csv(six_people):
    c = six_people[2]
    data = json.loads(report("flow", "--format", "json", "--period", "2026-05", "--stalled-limit", "1"))
    assert data["metric"] == "flow" and data["stalled_limit"] == 1
    assert (data["opening_at"], data["balance_at"]) == ("2026-05-01T00:00:00", "2026-06-01T00:00:00")
    lead = by_stage(data)["lead"]
    assert set(lead) == {
        "stage", "name", "category", "opening", "inflow", "reentries", "outflow", "outflow_to", "net",
        "balance", "age_buckets", "stall_days", "stalled", "stalled_ids",
    }  # fmt: skip
    assert (lead["stalled"], lead["stalled_ids"]) == (2, [c.pk])
    csv_text = report("flow", "--format", "csv", "--period", "2026-05")
    header, first = csv_text.splitlines()[:2]
    assert header.startswith(
        "slice,stage,opening,inflow,reentries,advanced,recycled,disqualified,other,balance"
    )
    assert first.startswith("(all),lead,2,1,0,1,0,0,0,2")


def test_cli_flow_refuses_a_negative_stalled_limit(six_people):
    with pytest.raises(CommandError, match="bad_stalled_limit"):
        report("flow", "--stalled-limit", "-3")
