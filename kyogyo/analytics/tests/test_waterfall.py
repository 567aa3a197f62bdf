"""The waterfall on hand-made journeys whose numbers can be checked by hand, and on the
demo company against a plain-Python computation from the milestones rows."""

from __future__ import annotations

import datetime as dt
import statistics

import pytest

from kyogyo.analytics.metrics import waterfall
from kyogyo.analytics.spec import Spec, SpecError
from kyogyo.testing import T0, local

DAY = dt.timedelta(days=1)
APRIL = {"start": dt.date(2026, 4, 1), "end": dt.date(2026, 4, 30)}


@pytest.fixture
def four_people(make_contact, walk):
    """A: lead → mql (+1 d) → sal (+2 d) → sql (+5 d) → opportunity (+6 d).
    B: lead → mql (+3 d) → rejected to nurture (+4 d) → mql again (+20 d) → sal (+21 d).
    C: lead only. D: lead in May (+40 d) → mql (+41 d). All in 2026; T0 is 6 April."""
    a = walk(
        make_contact(at=T0),
        [("mql", T0 + DAY), ("sal", T0 + 2 * DAY), ("sql", T0 + 5 * DAY), ("opportunity", T0 + 6 * DAY)],
    )
    b = walk(
        make_contact(at=T0),
        [
            ("mql", T0 + 3 * DAY),
            ("reject:no_need_now", T0 + 4 * DAY),
            ("mql", T0 + 20 * DAY),
            ("sal", T0 + 21 * DAY),
        ],
    )
    c = make_contact(at=T0)
    d = walk(make_contact(at=T0 + 40 * DAY), [("mql", T0 + 41 * DAY)])
    return a, b, c, d


def by_stage(result) -> dict[str, dict]:
    return {row["stage"]: row for row in result.as_dict()["stages"]}


def test_cohort_view_counts_first_entries_and_who_advanced(four_people, analytics):
    rows = by_stage(waterfall.compute(analytics(), Spec(**APRIL)))
    assert [rows[s]["entered"] for s in ("lead", "mql", "sal", "sql", "opportunity", "won")] == [
        3,
        2,
        2,
        1,
        1,
        0,
    ]
    assert rows["lead"]["advanced"] == 2
    assert rows["lead"]["conversion"] == {"numerator": 2, "denominator": 3, "value": 0.6667, "small": True}
    assert rows["lead"]["median_days_to_next"] == 2.0  # A took 1 day, B 3 days
    assert rows["mql"]["advanced"] == 2
    assert (
        rows["mql"]["median_days_to_next"] == 9.5
    )  # A 1 day; B from its first MQL (9 Apr) to SAL (27 Apr): 18
    assert rows["sal"]["advanced"] == 1 and rows["sal"]["median_days_to_next"] == 3.0
    assert rows["opportunity"]["advanced"] == 0 and rows["opportunity"]["conversion_rate"] == 0.0
    assert rows["won"]["conversion_rate"] is None  # nobody entered: no rate, not 0 %


def test_reentries_are_counted_apart_never_as_new_volume(four_people, analytics):
    rows = by_stage(waterfall.compute(analytics(), Spec(**APRIL)))
    assert rows["mql"]["entered"] == 2
    assert rows["mql"]["reentries"] == 1  # B's second MQL on 26 April


def test_period_view_divides_entries_in_the_same_window(four_people, analytics):
    rows = by_stage(waterfall.compute(analytics(), Spec(view="period", **APRIL)))
    assert rows["lead"]["entered"] == 3 and rows["lead"]["advanced"] == 2  # MQLs first entered in April
    assert rows["mql"]["advanced"] == 2  # SALs in April
    may = by_stage(
        waterfall.compute(
            analytics(), Spec(view="period", start=dt.date(2026, 5, 1), end=dt.date(2026, 5, 31))
        )
    )
    assert may["lead"]["entered"] == 1 and may["lead"]["advanced"] == 1
    assert may["mql"]["entered"] == 1 and may["mql"]["advanced"] == 0


def test_horizon_counts_only_advances_within_it(four_people, analytics):
    rows = by_stage(waterfall.compute(analytics(), Spec(horizon_days=2, **APRIL)))
    assert rows["lead"]["advanced"] == 1  # A within 1 day; B took 3
    assert rows["mql"]["advanced"] == 1  # B's SAL came 18 days after its first MQL


def test_cohort_maturity_shows_young_cohorts(four_people, analytics):
    context = analytics(as_of=local(2026, 4, 8, 12, 0))
    rows = by_stage(waterfall.compute(context, Spec(horizon_days=30, start=dt.date(2026, 4, 1))))
    assert rows["lead"]["maturity"] == 0.0  # nobody entered 30 days before 8 April
    later = analytics(as_of=local(2026, 6, 30))
    rows = by_stage(waterfall.compute(later, Spec(horizon_days=30, **APRIL)))
    assert rows["lead"]["maturity"] == 1.0


def test_account_unit_counts_a_company_once(make_contact, walk, analytics):
    first = make_contact(at=T0)
    colleague = make_contact(at=T0 + DAY)
    colleague.account = first.account
    colleague.save()
    walk(first, [("mql", T0 + 2 * DAY)])
    walk(colleague, [("mql", T0 + 3 * DAY)])
    rows = by_stage(waterfall.compute(analytics(), Spec(unit="account", **APRIL)))
    assert rows["lead"]["entered"] == 1 and rows["mql"]["entered"] == 1
    assert rows["lead"]["median_days_to_next"] == 2.0  # the company's first lead → its first MQL
    people = by_stage(waterfall.compute(analytics(), Spec(**APRIL)))
    assert people["lead"]["entered"] == 2


def test_slices_by_segment_and_month(four_people, analytics):
    a, b, c, d = four_people
    for contact, segment in ((a, "smb"), (b, "smb"), (c, "enterprise"), (d, "enterprise")):
        contact.account.segment = segment
        contact.account.save()
    data = waterfall.compute(analytics(), Spec(by=("segment", "month"))).as_dict()
    slices = {s["key"]: {r["stage"]: r for r in s["stages"]} for s in data["slices"]}
    assert slices["smb / 2026-04"]["lead"]["entered"] == 2
    assert slices["smb / 2026-04"]["lead"]["advanced"] == 2
    assert slices["enterprise / 2026-04"]["lead"]["entered"] == 1
    assert slices["enterprise / 2026-05"]["mql"]["entered"] == 1
    assert data["slices"][0]["keys"] == {"segment": "enterprise", "month": "2026-04"}
    totals = {r["stage"]: r for r in data["stages"]}
    assert totals["lead"]["entered"] == 4


def test_a_slice_with_one_subject_and_a_filter(four_people, analytics):
    a, *_ = four_people
    a.account.segment = "solo"
    a.account.save()
    rows = by_stage(waterfall.compute(analytics(), Spec(filters={"segment": "solo"})))
    assert rows["lead"]["entered"] == 1 and rows["lead"]["conversion"]["small"] is True
    assert rows["opportunity"]["entered"] == 1


def test_empty_window_answers_zero_without_rates(four_people, analytics):
    rows = by_stage(waterfall.compute(analytics(), Spec(start=dt.date(2020, 1, 1), end=dt.date(2020, 1, 31))))
    assert all(r["entered"] == 0 for r in rows.values())
    assert all(r["conversion_rate"] is None for r in rows.values())


def test_an_empty_database_gives_a_waterfall_of_zeros(defaults, analytics):
    rows = by_stage(waterfall.compute(analytics(), Spec()))
    assert rows["lead"]["entered"] == 0 and rows["lead"]["conversion_rate"] is None


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"by": ("shoe_size",)}, "unknown_dimension"),
        ({"filters": {"month": "2026-04"}}, "unknown_dimension"),
        ({"options": {"stages": ["lead", "nope"]}}, "unknown_stage"),
    ],
)
def test_bad_slices_are_refused_by_name(four_people, analytics, kwargs, code):
    with pytest.raises(SpecError) as caught:
        waterfall.compute(analytics(), Spec(**kwargs))
    assert caught.value.code == code


def test_bad_windows_are_refused():
    with pytest.raises(SpecError, match="ends"):
        Spec(start=dt.date(2026, 5, 1), end=dt.date(2026, 4, 1))


def test_matches_a_plain_python_waterfall_on_the_demo_company(defaults, analytics):
    """Every stage's entered / advanced / median on 600 demo people, against a computation
    straight from the milestones rows (no SQL, no DuckDB)."""
    from zoneinfo import ZoneInfo

    from kyogyo.demo.build import build
    from kyogyo.journey.models import Milestone

    build(seed=3, people=600, end=dt.date(2026, 10, 31), driver="bulk")
    context = analytics()
    spec = Spec(start=dt.date(2025, 10, 1), end=dt.date(2026, 3, 31))
    rows = by_stage(waterfall.compute(context, spec))
    tokyo = ZoneInfo("Asia/Tokyo")
    firsts = [
        {
            k: dt.datetime.fromisoformat(v).astimezone(tokyo).replace(tzinfo=None, microsecond=0)
            for k, v in m.first_entered.items()
        }
        for m in Milestone.objects.all()
    ]
    start, end = local(2025, 10, 1), local(2026, 4, 1)
    checked = 0
    for stage in context.path():
        nxt = context.next_on_path(stage.key)
        cohort = [f for f in firsts if stage.key in f and start <= f[stage.key] < end]
        assert rows[stage.key]["entered"] == len(cohort), stage.key
        if nxt is None:
            continue
        advanced = [f for f in cohort if nxt in f and f[nxt] >= f[stage.key]]
        assert rows[stage.key]["advanced"] == len(advanced), stage.key
        days = [(f[nxt] - f[stage.key]).total_seconds() / 86400 for f in advanced]
        expected = round(statistics.median(days), 2) if days else None
        assert rows[stage.key]["median_days_to_next"] == expected, stage.key
        checked += len(cohort)
    assert checked > 100


def test_the_entries_path_and_the_subjects_path_agree(defaults, analytics, monkeypatch):
    """Person-unit waterfalls read the per-stage ``entries`` table; everything else reads the
    wide ``subjects`` table. On the same data both give the same numbers."""
    from kyogyo.demo.build import build

    build(seed=4, people=500, end=dt.date(2026, 10, 31), driver="bulk")
    context = analytics()
    specs = [
        Spec(by=("month", "segment")),
        Spec(view="period", by=("source",), start=dt.date(2025, 6, 1), end=dt.date(2026, 5, 31)),
        Spec(horizon_days=30, filters={"segment": "smb"}),
        Spec(by=("quarter",)),
    ]
    fast = [waterfall.compute(context, spec).as_dict() for spec in specs]
    monkeypatch.setattr(waterfall, "_entries_apply", lambda *_: False)
    general = [waterfall.compute(context, spec).as_dict() for spec in specs]
    for a, b in zip(fast, general, strict=True):
        a.pop("snapshot"), b.pop("snapshot")
        assert a == b
