"""The bottleneck and the KPI tree on hand-checkable journeys, the Wilson interval against
its published examples, edge cases, the command line, and both against plain-Python
computations on the demo company."""

from __future__ import annotations

import datetime as dt
import io
import itertools
import json
import math
import statistics

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from kyogyo.analytics.metrics import bottleneck, kpi_tree
from kyogyo.analytics.spec import Spec, SpecError
from kyogyo.testing import TOKYO, local

DAY = dt.timedelta(days=1)
APRIL = dt.datetime(2026, 4, 6, 10, 0, tzinfo=TOKYO)
JUNE = dt.datetime(2026, 6, 3, 10, 0, tzinfo=TOKYO)
APRIL_WINDOW = {"start": dt.date(2026, 4, 1), "end": dt.date(2026, 4, 30)}
JUNE_WINDOW = {"start": dt.date(2026, 6, 1), "end": dt.date(2026, 6, 30)}
PATH = ["lead", "mql", "sal", "sql", "opportunity", "won"]


@pytest.fixture
def journey(walk, people):
    """``journey(contact, at, upto, amount)``: 1 day to MQL, 1 to SAL, 3 to SQL (a deal of
    ``amount``), 1 to opportunity, 10 to won — stopping at ``upto``."""
    from kyogyo.deals.actions import qualify, win_deal

    def run(contact, at: dt.datetime, upto: str, amount: int = 1_000_000):
        order = PATH.index(upto)
        if order >= 1:
            walk(contact, [("mql", at + DAY)])
        if order >= 2:
            walk(contact, [("sal", at + 2 * DAY)])
        if order >= 3:
            deal = qualify(contact, actor=people.is_rep, name="Deal", amount=amount, at=at + 5 * DAY)
        if order >= 4:
            walk(contact, [("opportunity", at + 6 * DAY)])
        if order >= 5:
            deal.refresh_from_db()
            win_deal(deal, actor=deal.owner, at=at + 16 * DAY)
        return contact

    return run


@pytest.fixture
def ten(make_contact, journey):
    """Ten leads on 6 April 2026: P1 won (¥3,000,000), P2 an open opportunity, P3 in SAL, P4 in
    MQL, six stay leads. lead→mql 4/10, mql→sal 3/4, sal→sql 2/3, sql→opportunity 2/2,
    opportunity→won 1/2: expected wins 10 × 0.4 × 0.75 × ⅔ × 1 × 0.5 = 1, revenue ¥3,000,000."""
    journey(make_contact(at=APRIL), APRIL, "won", 3_000_000)
    journey(make_contact(at=APRIL), APRIL, "opportunity", 2_000_000)
    journey(make_contact(at=APRIL), APRIL, "sal")
    journey(make_contact(at=APRIL), APRIL, "mql")
    for _ in range(6):
        make_contact(at=APRIL)


def steps_of(data: dict) -> dict[str, dict]:
    return {s["step"]: s for s in data["steps"]}


# --- the Wilson interval -------------------------------------------------------------


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        # Newcombe R.G., "Two-sided confidence intervals for the single proportion: comparison
        # of seven methods", Statistics in Medicine 17 (1998) 857–872, Table I, method 3
        # (Wilson score interval without continuity correction)
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
        (29, 29, 0.8830, 1.0),
    ],
)
def test_wilson_interval_matches_the_published_examples(k, n, low, high):
    found = bottleneck.wilson(k, n)
    assert found is not None
    assert (round(found[0], 4), round(found[1], 4)) == (low, high)


def test_wilson_without_observations_is_none():
    assert bottleneck.wilson(0, 0) is None


# --- the bottleneck --------------------------------------------------------------------


def test_revenue_model_and_the_one_point_effects(ten, analytics):
    data = bottleneck.compute(analytics(as_of=local(2026, 6, 30)), Spec(**APRIL_WINDOW)).as_dict()
    assert data["entered"] == 10 and data["first_stage"] == "lead"
    assert data["deal_size"] == {"value": 3_000_000.0, "source": "measured", "won_deals": 1}
    assert data["wins"] == 1.0 and data["revenue"] == 3_000_000.0
    steps = steps_of(data)
    assert list(steps) == ["lead:mql", "mql:sal", "sal:sql", "sql:opportunity", "opportunity:won"]
    # revenue × 0.01 ÷ rate: 3,000,000 × 0.01 ÷ 0.4, ÷ 0.75, ÷ ⅔; 100 % cannot gain; ÷ 0.5
    assert [steps[s]["revenue_effect"] for s in steps] == [75_000.0, 40_000.0, 45_000.0, 0.0, 60_000.0]
    assert steps["lead:mql"]["wins_effect"] == 0.025
    assert steps["lead:mql"]["conversion"] == {"numerator": 4, "denominator": 10, "value": 0.4, "small": True}
    assert steps["lead:mql"]["interval"] == [round(x, 4) for x in bottleneck.wilson(4, 10)]  # type: ignore[union-attr]


def test_effect_interval_puts_the_other_steps_at_their_wilson_ends(ten, analytics):
    data = bottleneck.compute(analytics(as_of=local(2026, 6, 30)), Spec(**APRIL_WINDOW)).as_dict()
    others = [(3, 4), (2, 3), (2, 2), (1, 2)]
    low = 10 * 0.01 * 3_000_000 * math.prod(bottleneck.wilson(k, n)[0] for k, n in others)  # type: ignore[index]
    high = 10 * 0.01 * 3_000_000 * math.prod(bottleneck.wilson(k, n)[1] for k, n in others)  # type: ignore[index]
    assert steps_of(data)["lead:mql"]["effect_interval"] == [round(low, 2), round(high, 2)]
    assert low < 75_000 < high


def test_the_bottleneck_is_named_with_its_evidence(ten, analytics):
    data = bottleneck.compute(analytics(as_of=local(2026, 6, 30)), Spec(**APRIL_WINDOW)).as_dict()
    found = data["bottleneck"]
    assert found["step"] == "lead:mql" and found["runner_up"] == "opportunity:won"
    assert found["revenue_effect"] == 75_000.0
    assert found["clear"] is False  # four people per step: the intervals overlap
    assert found["evidence"].startswith(
        "lead:mql converts 4 of 10 (40.0%); one point more is worth 75,000 in revenue"
    )
    assert "next is opportunity:won at 60,000 (the intervals overlap" in found["evidence"]


def test_velocity_effect_is_the_window_pace_times_the_days_saved(ten, analytics):
    data = bottleneck.compute(analytics(as_of=local(2026, 6, 30)), Spec(**APRIL_WINDOW)).as_dict()
    steps = steps_of(data)
    # ¥3,000,000 over April's 30 days = ¥100,000 a day; 10 % of the median days to next
    assert [steps[s]["median_days"] for s in steps] == [1.0, 1.0, 3.0, 1.0, 10.0]
    assert [steps[s]["days_saved"] for s in steps] == [0.1, 0.1, 0.3, 0.1, 1.0]
    assert [steps[s]["velocity_effect"] for s in steps] == [10_000.0, 10_000.0, 30_000.0, 10_000.0, 100_000.0]


def test_where_work_piles_up(ten, analytics):
    data = bottleneck.compute(analytics(as_of=local(2026, 6, 30)), Spec(**APRIL_WINDOW)).as_dict()
    piles = {p["stage"]: p for p in data["pile_up"]}
    assert data["pile_up_at"] == "2026-05-01T00:00:00"
    assert [(piles[s]["open"], piles[s]["outflow"]) for s in PATH[:-1]] == [
        (6, 4),
        (1, 3),
        (1, 2),
        (0, 2),
        (1, 1),
    ]
    # open ÷ (outflow ÷ 30 days)
    assert [piles[s]["days_to_clear"] for s in PATH[:-1]] == [45.0, 10.0, 15.0, 0.0, 30.0]
    assert piles["lead"]["median_age_days"] == round((24 * 24 + 14) / 24, 2)  # 6 Apr 10:00 → 1 May 00:00
    assert piles["lead"]["over_stall"] == 0 and piles["lead"]["stall_days"] == 30
    assert piles["mql"]["over_stall"] is None  # no stall limit on MQL
    assert data["piles_up_at"]["stage"] == "lead" and data["piles_up_at"]["days_to_clear"] == 45.0
    assert data["piles_up_at"]["evidence"].startswith("6 open in lead, 4 moved on in the window: 45.0 days")


def test_a_window_where_nothing_moves(ten, analytics):
    """May: nobody entered, nothing left a stage. No revenue model, no bottleneck; the pile-up
    is the stage with open items and no outflow (the most open first), with its stalled items."""
    data = bottleneck.compute(
        analytics(as_of=local(2026, 6, 30)), Spec(start=dt.date(2026, 5, 1), end=dt.date(2026, 5, 31))
    ).as_dict()
    assert data["entered"] == 0 and data["wins"] is None and data["revenue"] is None
    assert all(s["revenue_effect"] is None and s["conversion"]["value"] is None for s in data["steps"])
    assert data["bottleneck"] is None
    piles = {p["stage"]: p for p in data["pile_up"]}
    assert piles["lead"]["no_outflow"] is True and piles["lead"]["days_to_clear"] is None
    assert piles["lead"]["over_stall"] == 6 and piles["sal"]["over_stall"] == 1
    assert data["piles_up_at"]["stage"] == "lead"
    assert "nothing left it in the window" in data["piles_up_at"]["evidence"]


def test_without_a_deal_size_the_effects_are_in_wins(make_contact, journey, analytics):
    for upto in ("opportunity", "sql", "mql", "lead"):
        journey(make_contact(at=APRIL), APRIL, upto)
    data = bottleneck.compute(analytics(as_of=local(2026, 6, 30)), Spec(**APRIL_WINDOW)).as_dict()
    assert data["deal_size"] == {"value": None, "source": None, "won_deals": 0}
    # opportunity→won is 0 of 1: nothing is won yet, so only that step's point counts
    steps = steps_of(data)
    assert steps["opportunity:won"]["wins_effect"] == pytest.approx(4 * 0.75 * (2 / 3) * 0.5 * 1.0 * 0.01)
    assert steps["lead:mql"]["wins_effect"] == 0.0 and steps["lead:mql"]["revenue_effect"] is None
    # the others' effects are 0, but their intervals (0 of 1 won could be up to 79 %) overlap it
    assert data["bottleneck"]["step"] == "opportunity:won" and data["bottleneck"]["clear"] is False
    given = bottleneck.compute(
        analytics(as_of=local(2026, 6, 30)), Spec(options={"deal_size": 1_000_000}, **APRIL_WINDOW)
    ).as_dict()
    assert given["deal_size"]["source"] == "given"
    assert steps_of(given)["opportunity:won"]["revenue_effect"] == 10_000.0


def test_a_filter_narrows_the_bottleneck_to_one_subject(make_contact, journey, analytics):
    only = journey(make_contact(at=APRIL, industry="retail"), APRIL, "won", 3_000_000)
    only.account.segment = "solo"
    only.account.save()
    journey(make_contact(at=APRIL), APRIL, "mql")
    spec = Spec(filters={"segment": "solo"}, **APRIL_WINDOW)
    data = bottleneck.compute(analytics(as_of=local(2026, 6, 30)), spec).as_dict()
    assert data["entered"] == 1 and data["revenue"] == 3_000_000.0
    assert all(s["conversion"]["small"] for s in data["steps"])
    assert all(s["revenue_effect"] == 0.0 for s in data["steps"])  # every step is at 100 %
    assert all(p["open"] == 0 for p in data["pile_up"]) and data["piles_up_at"] is None


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"by": ("segment",)}, "no_slices"),
        ({"unit": "account"}, "bad_unit"),
        ({"options": {"deal_size": 0}}, "bad_deal_size"),
    ],
)
def test_bottleneck_refusals(defaults, analytics, kwargs, code):
    with pytest.raises(SpecError) as caught:
        bottleneck.compute(analytics(), Spec(**kwargs))
    assert caught.value.code == code


def test_the_default_window_is_the_last_twelve_whole_months(ten, analytics):
    data = bottleneck.compute(analytics(as_of=local(2027, 2, 10)), Spec()).as_dict()
    assert (data["from"], data["to"]) == ("2026-02-01", "2027-01-31")
    assert data["entered"] == 10


# --- the KPI tree ----------------------------------------------------------------------


def target(metric: str, team: str | None, starts_on: str, ends_on: str, value: float) -> None:
    from kyogyo.analytics.models import Target
    from kyogyo.org.models import Team

    Target.objects.create(
        metric=metric,
        team=Team.objects.get(key=team) if team else None,
        starts_on=dt.date.fromisoformat(starts_on),
        ends_on=dt.date.fromisoformat(ends_on),
        value=value,
    )


@pytest.fixture
def customers(make_contact):
    """Three customers before June: X ¥100,000 contracts to ¥70,000 on 15 June; Y ¥50,000
    churns on 20 June; W ¥40,000 expands to ¥60,000. Z starts in June (¥80,000): not in the
    cohort. GRR = (70,000 + 0 + 40,000) ÷ 190,000."""
    from kyogyo.success.actions import change_mrr, churn, start_subscription

    def account():
        return make_contact(at=APRIL - 90 * DAY).account

    x = start_subscription(account(), plan="pro", mrr=100_000, starts_on=dt.date(2026, 1, 1))
    y = start_subscription(account(), plan="pro", mrr=50_000, starts_on=dt.date(2026, 2, 1))
    w = start_subscription(account(), plan="pro", mrr=40_000, starts_on=dt.date(2026, 3, 1))
    start_subscription(account(), plan="pro", mrr=80_000, starts_on=dt.date(2026, 6, 10))
    change_mrr(x, 70_000, on=dt.date(2026, 6, 15))
    churn(y, on=dt.date(2026, 6, 20))
    change_mrr(w, 60_000, on=dt.date(2026, 6, 5))


@pytest.fixture
def june(ten, make_contact, journey, customers):
    """In June: one person sold (¥4,000,000), one reaches MQL. Targets: the fiscal year's revenue
    ¥365,000,000 (June's 30 days: ¥30,000,000), marketing 50 MQLs in June, GRR 90 %."""
    journey(make_contact(at=JUNE), JUNE, "won", 4_000_000)
    journey(make_contact(at=JUNE), JUNE, "mql")
    target("revenue", None, "2026-04-01", "2027-03-31", 365_000_000)
    target("entered:mql", "marketing", "2026-06-01", "2026-06-30", 50)
    target("grr", "customer_success", "2026-04-01", "2027-03-31", 0.9)


def nodes(data: dict) -> dict[tuple[str, str | None], dict]:
    return {(c["key"], c["team"]): c for c in data["tree"]["children"]}


def test_kpi_tree_targets_actuals_and_attainment(june, analytics):
    data = kpi_tree.compute(analytics(as_of=local(2026, 7, 10)), Spec(**JUNE_WINDOW)).as_dict()
    root = data["tree"]
    assert (root["key"], root["team"], root["target"], root["target_source"]) == (
        "revenue",
        None,
        30_000_000,
        "set",
    )
    assert root["actual"] == 4_000_000
    assert root["attainment"] == {
        "numerator": 4_000_000,
        "denominator": 30_000_000,
        "value": 0.1333,
        "small": False,
    }
    found = nodes(data)
    assert list(found) == [
        ("entered:mql", "marketing"),
        ("entered:sql", "inside_sales"),
        ("wins", "field_sales"),
        ("revenue", "field_sales"),
        ("grr", "customer_success"),
    ]
    mql = found[("entered:mql", "marketing")]
    assert (mql["target"], mql["target_source"], mql["actual"]) == (50, "set", 2)
    assert mql["attainment"]["value"] == 0.04


def test_missing_team_targets_are_derived_backwards(june, analytics):
    """Measured over June 2025 – May 2026 (the ten April people): deal ¥3,000,000, so
    ¥30,000,000 is 10 wins → 20 opportunities → 20 SQLs → 30 SALs → 40 MQLs."""
    found = nodes(kpi_tree.compute(analytics(as_of=local(2026, 7, 10)), Spec(**JUNE_WINDOW)).as_dict())
    wins = found[("wins", "field_sales")]
    assert (wins["target"], wins["target_source"], wins["actual"]) == (10, "derived", 1)
    sql = found[("entered:sql", "inside_sales")]
    assert (sql["target"], sql["target_source"], sql["actual"]) == (20, "derived", 1)
    assert sql["attainment"]["value"] == 0.05
    assert "worked back from the revenue target 30,000,000 at a deal size of 3,000,000" in sql["note"]
    revenue = found[("revenue", "field_sales")]
    assert (revenue["target"], revenue["target_source"], revenue["actual"]) == (
        30_000_000,
        "derived",
        4_000_000,
    )


def test_grr_node(june, analytics):
    grr = nodes(kpi_tree.compute(analytics(as_of=local(2026, 7, 10)), Spec(**JUNE_WINDOW)).as_dict())[
        ("grr", "customer_success")
    ]
    assert grr["detail"] == {
        "customers": 3,
        "starting_mrr": 190_000,
        "retained_mrr": 110_000,
        "churned_mrr": 50_000,
        "contraction_mrr": 30_000,
        "grr": 0.5789,
    }
    assert (grr["actual"], grr["target"], grr["target_source"]) == (0.5789, 0.9, "set")
    # retained ¥110,000 of the ¥171,000 a 90 % GRR asks for
    assert grr["attainment"]["numerator"] == 110_000 and grr["attainment"]["denominator"] == pytest.approx(
        171_000
    )
    assert grr["attainment"]["value"] == 0.6433


def test_a_team_row_beats_a_company_row_and_rows_are_prorated(defaults):
    rows = [
        kpi_tree.TargetRow("wins", None, dt.date(2026, 4, 1), dt.date(2026, 6, 30), 91),
        kpi_tree.TargetRow("wins", "field_sales", dt.date(2026, 6, 1), dt.date(2026, 6, 30), 12),
        kpi_tree.TargetRow("wins", "field_sales", dt.date(2026, 7, 1), dt.date(2026, 7, 31), 31),
    ]
    june, july_half = (dt.date(2026, 6, 1), dt.date(2026, 6, 30)), (dt.date(2026, 7, 1), dt.date(2026, 7, 15))
    assert kpi_tree.target_for(rows, "wins", "field_sales", *june) == 12
    assert kpi_tree.target_for(rows, "wins", "field_sales", *july_half) == 15  # 15 of 31 days
    assert kpi_tree.target_for(rows, "wins", "inside_sales", *june) == 30  # 30 of the 91 days
    assert kpi_tree.target_for(rows, "wins", None, *june) == 30
    assert kpi_tree.target_for(rows, "wins", None, dt.date(2027, 1, 1), dt.date(2027, 1, 31)) is None
    grr = [
        kpi_tree.TargetRow("grr", None, dt.date(2026, 6, 1), dt.date(2026, 6, 30), 0.9),
        kpi_tree.TargetRow("grr", None, dt.date(2026, 7, 1), dt.date(2026, 7, 31), 0.8),
    ]
    # a share is not prorated: June and 10 days of July weigh 30 : 10
    assert kpi_tree.target_for(grr, "grr", None, dt.date(2026, 6, 1), dt.date(2026, 7, 10), share=True) == (
        pytest.approx(0.875)
    )
    # the company's revenue row is not a team's row
    revenue = [kpi_tree.TargetRow("revenue", None, *june, 100)]
    assert kpi_tree.target_for(revenue, "revenue", "field_sales", *june) is None
    assert kpi_tree.target_for(revenue, "revenue", None, *june) == 100


def test_without_any_target_nothing_is_derived(ten, analytics):
    data = kpi_tree.compute(analytics(as_of=local(2026, 7, 10)), Spec(**JUNE_WINDOW)).as_dict()
    assert data["tree"]["target_source"] == "none" and data["tree"]["attainment"] is None
    assert all(c["target_source"] == "none" and c["attainment"] is None for c in data["tree"]["children"])
    assert nodes(data)[("grr", "customer_success")]["actual"] is None  # no customers: no GRR, not 0 %


def test_a_target_that_cannot_be_derived_says_why(defaults, analytics):
    target("revenue", None, "2026-06-01", "2026-06-30", 1_000_000)
    data = kpi_tree.compute(analytics(as_of=local(2026, 7, 10)), Spec(**JUNE_WINDOW)).as_dict()
    mql = nodes(data)[("entered:mql", "marketing")]
    assert mql["target"] is None and mql["target_source"] == "none"
    assert mql["note"].startswith("cannot derive from the revenue target: no measured conversion")


def test_the_default_window_is_the_fiscal_year(ten, analytics):
    data = kpi_tree.compute(analytics(as_of=local(2026, 7, 10)), Spec()).as_dict()
    assert (data["from"], data["to"]) == ("2026-04-01", "2027-03-31")
    assert nodes(data)[("entered:mql", "marketing")]["actual"] == 4


def test_kpi_tree_refuses_slices(defaults, analytics):
    with pytest.raises(SpecError) as caught:
        kpi_tree.compute(analytics(), Spec(filters={"segment": "smb"}))
    assert caught.value.code == "no_slices"


# --- the command line ----------------------------------------------------------------


def report(*args: str) -> str:
    out = io.StringIO()
    call_command("report", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_cli_bottleneck_json_table_and_csv(ten):
    data = json.loads(
        report(
            "bottleneck",
            "--from",
            "2026-04-01",
            "--to",
            "2026-04-30",
            "--as-of",
            "2026-06-30",
            "--format",
            "json",
        )
    )
    assert data["metric"] == "bottleneck" and data["bottleneck"]["step"] == "lead:mql"
    assert data["piles_up_at"]["stage"] == "lead"
    table = report("bottleneck", "--from", "2026-04-01", "--to", "2026-04-30", "--as-of", "2026-06-30")
    assert table.splitlines()[0].split()[:2] == ["row", "conversion_rate"]
    assert any(line.startswith("lead:mql *") for line in table.splitlines())
    csv_text = report("bottleneck", "--period", "2026-04", "--deal-size", "1000", "--format", "csv")
    assert csv_text.splitlines()[1].startswith("lead:mql *,0.4,4,10,25.0")


def test_cli_kpi_tree(june):
    data = json.loads(report("kpi-tree", "--period", "2026-06", "--as-of", "2026-07-10", "--format", "json"))
    assert data["metric"] == "kpi-tree" and data["tree"]["target"] == 30_000_000
    assert {c["key"] for c in data["tree"]["children"]} == {
        "entered:mql",
        "entered:sql",
        "wins",
        "revenue",
        "grr",
    }
    table = report("kpi-tree", "--period", "2026-06", "--as-of", "2026-07-10")
    assert table.splitlines()[2].startswith("Revenue (deals won)")
    assert "  MQLs" in table


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["bottleneck", "--by", "segment"], "no_slices: the bottleneck is not sliced"),
        (["kpi-tree", "--filter", "segment=smb"], "no_slices: the KPI tree is company-wide"),
        (["plan-actual"], "no_plan: give the saved plan with --plan ID"),
    ],
)
def test_cli_refusals(defaults, args, message):
    with pytest.raises(CommandError) as caught:
        report(*args)
    assert str(caught.value).startswith(message)


# --- against plain Python on the demo company ----------------------------------------


@pytest.fixture
def demo(defaults):
    from kyogyo.demo.build import build

    build(seed=3, people=600, end=dt.date(2026, 10, 31), driver="bulk")


def firsts_from_milestones() -> list[dict[str, dt.datetime]]:
    from kyogyo.journey.models import Milestone

    return [
        {
            k: dt.datetime.fromisoformat(v).astimezone(TOKYO).replace(tzinfo=None, microsecond=0)
            for k, v in m.first_entered.items()
        }
        for m in Milestone.objects.all()
    ]


def naive(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(TOKYO).replace(tzinfo=None)


def test_bottleneck_matches_plain_python_on_the_demo_company(demo, analytics):
    from kyogyo.deals.models import Deal
    from kyogyo.journey.models import Transition

    context = analytics(as_of=local(2026, 12, 1))
    spec = Spec(start=dt.date(2025, 10, 1), end=dt.date(2026, 9, 30))
    data = bottleneck.compute(context, spec).as_dict()
    start, end = local(2025, 10, 1), local(2026, 10, 1)
    firsts = firsts_from_milestones()
    rates, medians = {}, {}
    for stage, nxt in itertools.pairwise(PATH):
        cohort = [f for f in firsts if stage in f and start <= f[stage] < end]
        advanced = [f for f in cohort if nxt in f and f[nxt] >= f[stage]]
        rates[f"{stage}:{nxt}"] = len(advanced) / len(cohort)
        medians[f"{stage}:{nxt}"] = statistics.median(
            (f[nxt] - f[stage]).total_seconds() / 86400 for f in advanced
        )
    entered = len([f for f in firsts if "lead" in f and start <= f["lead"] < end])
    won = [
        d.amount
        for d in Deal.objects.filter(status="won", currency="JPY")
        if start <= naive(d.closed_at) < end
    ]
    deal_size = sum(won) / len(won)
    revenue = entered * math.prod(rates.values()) * deal_size
    assert data["entered"] == entered and data["revenue"] == pytest.approx(revenue, abs=0.01)
    steps = steps_of(data)
    for key, rate in rates.items():
        others = math.prod(r for k, r in rates.items() if k != key)
        assert steps[key]["revenue_effect"] == pytest.approx(
            entered * others * min(0.01, 1 - rate) * deal_size, abs=0.01
        )
        assert steps[key]["median_days"] == round(medians[key], 2)
    best = max(
        rates, key=lambda k: math.prod(r for j, r in rates.items() if j != k) * min(0.01, 1 - rates[k])
    )
    assert data["bottleneck"]["step"] == best
    # open balances at the window's end from the transition log
    latest: dict[int, str] = {}
    for t in (
        Transition.objects.filter(at__lt=dt.datetime(2026, 10, 1, tzinfo=TOKYO))
        .order_by("seq")
        .select_related("to_stage")
    ):
        latest[t.subject_id] = t.to_stage.key
    piles = {p["stage"]: p for p in data["pile_up"]}
    for stage in PATH[:-1]:
        assert piles[stage]["open"] == sum(1 for v in latest.values() if v == stage), stage
    assert sum(piles[s]["open"] for s in PATH[:-1]) > 20


def test_kpi_tree_matches_plain_python_on_the_demo_company(demo, analytics):
    from kyogyo.deals.models import Deal
    from kyogyo.success.models import SubscriptionChange

    target("revenue", None, "2026-04-01", "2027-03-31", 1_000_000_000)
    data = kpi_tree.compute(
        analytics(as_of=local(2026, 11, 1)), Spec(start=dt.date(2026, 4, 1), end=dt.date(2026, 9, 30))
    )
    found = nodes(data.as_dict())
    start, end = local(2026, 4, 1), local(2026, 10, 1)
    firsts = firsts_from_milestones()
    for stage, team in (("mql", "marketing"), ("sql", "inside_sales")):
        expected = sum(1 for f in firsts if stage in f and start <= f[stage] < end)
        assert found[(f"entered:{stage}", team)]["actual"] == expected
    won = [
        d.amount
        for d in Deal.objects.filter(status="won", currency="JPY")
        if start <= naive(d.closed_at) < end
    ]
    assert found[("wins", "field_sales")]["actual"] == len(won)
    assert data.as_dict()["tree"]["actual"] == sum(won)
    assert data.as_dict()["tree"]["target"] == pytest.approx(1_000_000_000 * 183 / 365, abs=0.01)
    # GRR from the subscription changes, per account
    mrr: dict[int, dict[str, int]] = {}
    last: dict[tuple[int, str], tuple] = {}
    for c in SubscriptionChange.objects.select_related("subscription").order_by("occurred_on", "pk"):
        for moment, bound in (
            ("s", c.occurred_on < dt.date(2026, 4, 1)),
            ("e", c.occurred_on <= dt.date(2026, 9, 30)),
        ):
            if bound:
                last[(c.subscription_id, moment)] = (c.subscription.account_id, c.mrr_after)
    for (_sub, moment), (account, value) in last.items():
        mrr.setdefault(account, {"s": 0, "e": 0})[moment] += value
    cohort = {a: v for a, v in mrr.items() if v["s"] > 0}
    starting = sum(v["s"] for v in cohort.values())
    retained = sum(min(v["s"], v["e"]) for v in cohort.values())
    grr = found[("grr", "customer_success")]
    assert grr["detail"]["starting_mrr"] == starting > 0
    assert grr["detail"]["retained_mrr"] == retained
    assert grr["actual"] == round(retained / starting, 4)
    assert found[("wins", "field_sales")]["target_source"] == "derived"
