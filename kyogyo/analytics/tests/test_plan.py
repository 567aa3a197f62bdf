"""Planning backwards (逆算) on hand-checkable numbers: the published worked example, the
rounding rule, measured rates and deal size, lags placed in earlier months, capacity,
overrides, refusals; saved plans against the actuals; the command line; and the plan on the
demo company against a plain-Python computation from the milestones and deals."""

from __future__ import annotations

import datetime as dt
import io
import itertools
import json
import math
import statistics
from fractions import Fraction

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from kyogyo.analytics.metrics import plan
from kyogyo.analytics.models import SavedPlan
from kyogyo.analytics.spec import Spec, SpecError
from kyogyo.testing import TOKYO, local

DAY = dt.timedelta(days=1)
APRIL = dt.datetime(2026, 4, 6, 10, 0, tzinfo=TOKYO)
JUNE = {"start": dt.date(2026, 6, 1), "end": dt.date(2026, 6, 30)}
FY2026 = {"start": dt.date(2026, 4, 1), "end": dt.date(2027, 3, 31)}
PATH = ["lead", "mql", "sal", "sql", "opportunity", "won"]

# The worked example of the issue (THE MODEL's 逆算): ¥120,000,000 at ¥2,000,000 a deal is
# 60 wins; opportunity→won 25 % → 240 opportunities; sql→opportunity 80 % → 300 SQLs;
# sal→sql 50 % → 600 SALs; mql→sal 80 % → 750 MQLs; lead→mql 10 % → 7,500 leads.
PUBLISHED_RATES = {
    "lead:mql": Fraction("0.1"),
    "mql:sal": Fraction("0.8"),
    "sal:sql": Fraction("0.5"),
    "sql:opportunity": Fraction("0.8"),
    "opportunity:won": Fraction("0.25"),
}


def by_stage(data: dict) -> dict[str, dict]:
    return {s["stage"]: s for s in data["stages"]}


def months_of(row: dict) -> dict[str, tuple[int, float, bool]]:
    return {m["month"]: (m["required"], m["exact"], m["before_period"]) for m in row["months"]}


@pytest.fixture
def sell(walk, people):
    """``sell(at, amount)``: a new person from lead to won through the actions, 1 day to MQL,
    1 to SAL, 3 to SQL (a deal of ``amount``), 1 to opportunity, 10 to won."""
    from kyogyo.deals.actions import qualify, win_deal

    def run(contact, at: dt.datetime, amount: int):
        walk(contact, [("mql", at + DAY), ("sal", at + 2 * DAY)])
        deal = qualify(contact, actor=people.is_rep, name="Deal", amount=amount, at=at + 5 * DAY)
        walk(contact, [("opportunity", at + 6 * DAY)])
        deal.refresh_from_db()
        win_deal(deal, actor=deal.owner, at=at + 16 * DAY)
        return deal

    return run


@pytest.fixture
def april(make_contact, walk, sell):
    """In April 2026: A and B are sold (¥1,000,000 and ¥3,000,000); C reaches SAL; D stays a
    lead. lead→mql 3/4, mql→sal 3/3, sal→sql 2/3, sql→opportunity 2/2, opportunity→won 2/2;
    median days to next: 1, 1, 3, 1, 10; average deal ¥2,000,000."""
    sell(make_contact(at=APRIL), APRIL, 1_000_000)
    sell(make_contact(at=APRIL), APRIL, 3_000_000)
    walk(make_contact(at=APRIL), [("mql", APRIL + DAY), ("sal", APRIL + 2 * DAY)])
    make_contact(at=APRIL)


def test_the_published_worked_example(defaults, analytics):
    inputs = plan.PlanInputs(
        target=120_000_000, deal_size=Fraction(2_000_000), rates=PUBLISHED_RATES, **FY2026
    )
    data = plan.make_plan(analytics(), inputs).as_dict()
    rows = by_stage(data)
    assert data["wins"] == 60
    assert [rows[s]["required"] for s in PATH] == [7500, 750, 600, 300, 240, 60]
    assert [rows[s]["exact"] for s in PATH] == [7500.0, 750.0, 600.0, 300.0, 240.0, 60.0]
    assert rows["lead"]["rate"] == 0.1 and rows["lead"]["rate_source"] == "given"
    assert rows["won"]["rate"] is None and rows["won"]["next_stage"] is None
    assert data["deal_size"] == {"value": 2_000_000.0, "source": "given", "won_deals": 0, "median": None}
    # no history: no lags, so each month of the fiscal year carries a twelfth
    assert rows["opportunity"]["days_to_next"] is None and rows["lead"]["lag_days"] == 0
    assert months_of(rows["won"])["2026-04"] == (5, 5.0, False)
    assert months_of(rows["lead"])["2027-03"] == (625, 625.0, False)
    assert len(rows["lead"]["months"]) == 12 and data["months"][0] == "2026-04"


def test_a_published_first_step(defaults, analytics):
    """select-s.jp, 新人営業向け目標逆算シート (https://www.select-s.jp/column/new-sales-goal-calculation-sheet-template):
    月間売上 100万円 at an average price of 10万円 needs 10 contracts."""
    inputs = plan.PlanInputs(
        target=1_000_000,
        deal_size=Fraction(100_000),
        rates=dict.fromkeys(plan.steps(plan.plan_path(analytics())), Fraction(1)),
        **JUNE,
    )
    assert plan.make_plan(analytics(), inputs).as_dict()["wins"] == 10


def test_the_chain_is_rounded_only_when_shown(defaults, analytics):
    """¥1,000,000 at ¥300,000 a deal is 3⅓ wins (shown 4); at 30 % that is 11.1 opportunities
    (shown 12), at 70 % 15.9 SQLs (shown 16). Rounding at every step would ask for
    ⌈4 ÷ 0.3⌉ = 14 opportunities and ⌈14 ÷ 0.7⌉ = 20 SQLs."""
    rates = dict.fromkeys(plan.steps(plan.plan_path(analytics())), Fraction(1))
    rates.update({"sql:opportunity": Fraction("0.7"), "opportunity:won": Fraction("0.3")})
    inputs = plan.PlanInputs(target=1_000_000, deal_size=Fraction(300_000), rates=rates, **JUNE)
    rows = by_stage(plan.make_plan(analytics(), inputs).as_dict())
    assert (rows["won"]["required"], rows["won"]["exact"]) == (4, 3.3333)
    assert (rows["opportunity"]["required"], rows["opportunity"]["exact"]) == (12, 11.1111)
    assert (rows["sql"]["required"], rows["sql"]["exact"]) == (16, 15.873)
    assert rows["lead"]["required"] == 16
    stepwise = math.ceil(math.ceil(4 / 0.3) / 0.7)
    assert stepwise == 20 != rows["sql"]["required"]


def test_exact_fractions_never_round_up_a_whole_number(defaults, analytics):
    """21 wins at 70 % need exactly 30 opportunities; in binary floating point 21 ÷ 0.7 is
    30.000000000000004, which a float chain would round up to 31."""
    assert math.ceil(21 / 0.7) == 31
    rates = dict.fromkeys(plan.steps(plan.plan_path(analytics())), Fraction(1))
    rates["opportunity:won"] = plan.parse_rate("opportunity:won=0.7")[1]
    inputs = plan.PlanInputs(target=21_000_000, deal_size=Fraction(1_000_000), rates=rates, **JUNE)
    rows = by_stage(plan.make_plan(analytics(), inputs).as_dict())
    assert (rows["won"]["required"], rows["opportunity"]["required"]) == (21, 30)


def test_measured_rates_deal_size_and_lags(april, analytics):
    """Target ¥20,000,000 for June 2026, measured over June 2025 – May 2026 (the April people):
    10 wins → 10 opportunities → 10 SQLs → 15 SALs → 15 MQLs → 20 leads."""
    data = plan.make_plan(analytics(), plan.PlanInputs(target=20_000_000, **JUNE)).as_dict()
    rows = by_stage(data)
    assert data["lookback"] == {"from": "2025-06-01", "to": "2026-05-31", "months": 12}
    assert data["deal_size"] == {
        "value": 2_000_000.0,
        "source": "measured",
        "won_deals": 2,
        "median": 2_000_000.0,
    }
    assert [rows[s]["required"] for s in PATH] == [20, 15, 15, 10, 10, 10]
    assert rows["sal"]["rate"] == round(2 / 3, 6) and rows["sal"]["rate_source"] == "measured"
    assert rows["sal"]["measured"] == {"numerator": 2, "denominator": 3, "value": 0.6667, "small": True}
    assert [rows[s]["days_to_next"] for s in PATH] == [1.0, 1.0, 3.0, 1.0, 10.0, None]
    assert [rows[s]["lag_days"] for s in PATH] == [16.0, 15.0, 14.0, 11.0, 10.0, 0.0]
    # June's 10 wins need opportunities from 22 May to 20 June: 10 of those 30 days are in May
    assert months_of(rows["won"]) == {"2026-06": (10, 10.0, False)}
    assert months_of(rows["opportunity"]) == {"2026-05": (4, 3.3333, True), "2026-06": (7, 6.6667, False)}
    # 20 leads from 16 May to 14 June: 16 days in May, 14 in June
    assert months_of(rows["lead"]) == {"2026-05": (11, 10.6667, True), "2026-06": (10, 9.3333, False)}


def test_given_rates_and_deal_size_override_the_measured_ones(april, analytics):
    inputs = plan.PlanInputs(
        target=20_000_000, deal_size=Fraction(4_000_000), rates={"mql:sal": Fraction("0.5")}, **JUNE
    )
    data = plan.make_plan(analytics(), inputs).as_dict()
    rows = by_stage(data)
    assert data["deal_size"]["source"] == "given" and data["wins"] == 5
    assert rows["mql"]["rate"] == 0.5 and rows["mql"]["rate_source"] == "given"
    assert rows["mql"]["measured"]["value"] == 1.0  # still shown beside the given rate
    # 5 wins → 5 → 5 → 7.5 SALs → 15 MQLs → 20 leads
    assert [rows[s]["required"] for s in PATH] == [20, 15, 8, 5, 5, 5]


def test_lags_over_several_months_keep_the_total(april, analytics):
    inputs = plan.PlanInputs(target=20_000_000, start=dt.date(2026, 6, 1), end=dt.date(2026, 8, 31))
    rows = by_stage(plan.make_plan(analytics(), inputs).as_dict())
    for stage in PATH:
        assert sum(m["exact"] for m in rows[stage]["months"]) == pytest.approx(rows[stage]["exact"], abs=1e-3)
    # the last month of the lead requirement ends 16 days before the end of August
    assert [m["month"] for m in rows["lead"]["months"]] == ["2026-05", "2026-06", "2026-07", "2026-08"]
    assert [m["before_period"] for m in rows["lead"]["months"]] == [True, False, False, False]


def test_spread_places_time_in_the_months_it_lands_in():
    june = plan.spread(Fraction(30), dt.date(2026, 6, 1), dt.date(2026, 6, 30), 10 * 86400)
    assert june == {dt.date(2026, 5, 1): Fraction(10), dt.date(2026, 6, 1): Fraction(20)}
    half_day = plan.spread(Fraction(60), dt.date(2026, 6, 1), dt.date(2026, 6, 30), 43200)
    assert half_day[dt.date(2026, 5, 1)] == Fraction(1)  # half a day of 30 days' 60
    two = plan.spread(Fraction(10), dt.date(2026, 1, 1), dt.date(2026, 2, 28), 0)
    assert two == {dt.date(2026, 1, 1): Fraction(5), dt.date(2026, 2, 1): Fraction(5)}


def test_capacity_gives_people_per_team_and_month(defaults, analytics):
    capacity = {
        "marketing": Fraction(200),  # 625 leads a month → 3.1 → 4 people
        "inside_sales": Fraction(30),  # 62.5 MQLs → 2.08 → 3
        "field_sales": Fraction(8),  # 20 opportunities → 2.5 → 3
        "customer_success": Fraction(2),  # 5 wins → 2.5 → 3
    }
    inputs = plan.PlanInputs(
        target=120_000_000, deal_size=Fraction(2_000_000), rates=PUBLISHED_RATES, capacity=capacity, **FY2026
    )
    data = plan.make_plan(analytics(), inputs).as_dict()
    teams = {c["team"]: c for c in data["capacity"]}
    assert {t: (c["stage"], c["peak_people"]) for t, c in teams.items()} == {
        "marketing": ("lead", 4),
        "inside_sales": ("mql", 3),
        "field_sales": ("opportunity", 3),
        "customer_success": ("won", 3),
    }
    assert teams["inside_sales"]["months"][0] == {"month": "2026-04", "volume": 62.5, "people": 3}
    assert teams["inside_sales"]["per_person_per_month"] == 30.0


@pytest.mark.parametrize(
    ("text", "code", "message"),
    [
        ("mql:sal=1.5", "bad_rate", "--rate mql:sal: a conversion must be above 0 and at most 1"),
        ("mql:sal=0", "bad_rate", "above 0"),
        ("mql:sal=-0.2", "bad_rate", "above 0"),
        ("mql:sal=abc", "bad_rate", "'abc' is not a number"),
        ("mql=0.5", "bad_rate", "write a rate as FROM:TO=RATE"),
    ],
)
def test_bad_rates_are_refused(text, code, message):
    with pytest.raises(SpecError) as caught:
        plan.parse_rate(text)
    assert caught.value.code == code and message in str(caught.value)


def test_percent_rates_are_accepted():
    assert plan.parse_rate("mql:sal=80%") == ("mql:sal", Fraction(4, 5))


def test_an_unknown_step_is_refused_with_the_known_ones(defaults, analytics):
    inputs = plan.PlanInputs(target=1_000_000, deal_size=Fraction(1), rates={"mql:won": Fraction(1)}, **JUNE)
    with pytest.raises(SpecError) as caught:
        plan.make_plan(analytics(), inputs)
    assert caught.value.code == "unknown_step"
    assert "no step mql:won on the path to won; the steps are lead:mql, mql:sal" in str(caught.value)


def test_an_unmeasured_step_is_refused_by_name(april, analytics):
    """A lookback holding nobody: the refusal names the steps and suggests --rate."""
    inputs = plan.PlanInputs(target=1_000_000, start=dt.date(2028, 1, 1), end=dt.date(2028, 1, 31))
    with pytest.raises(SpecError) as caught:
        plan.make_plan(analytics(), inputs)
    assert caught.value.code == "no_rate"
    assert "over 2027-01-01–2027-12-31 for lead:mql (0 of 0 advanced)" in str(caught.value)
    assert "--rate FROM:TO=RATE" in str(caught.value)


def test_a_step_measured_at_zero_is_refused(make_contact, walk, analytics):
    walk(make_contact(at=APRIL), [("mql", APRIL + DAY)])
    rates = {"lead:mql": Fraction(1), "sal:sql": Fraction(1), "sql:opportunity": Fraction(1)}
    rates["opportunity:won"] = Fraction(1)
    inputs = plan.PlanInputs(target=1_000_000, deal_size=Fraction(1000), rates=rates, **JUNE)
    with pytest.raises(SpecError) as caught:
        plan.make_plan(analytics(), inputs)
    assert caught.value.code == "no_rate" and "mql:sal (0 of 1 advanced)" in str(caught.value)


def test_no_won_deal_to_measure_is_refused(defaults, analytics):
    inputs = plan.PlanInputs(target=1_000_000, rates=PUBLISHED_RATES, **JUNE)
    with pytest.raises(SpecError) as caught:
        plan.make_plan(analytics(), inputs)
    assert caught.value.code == "no_deal_size" and "--deal-size" in str(caught.value)


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"target": 0}, "bad_target"),
        ({"deal_size": Fraction(0)}, "bad_deal_size"),
        ({"lookback_months": 0}, "bad_lookback"),
        ({"capacity": {"legal": Fraction(3)}}, "unknown_team"),
        ({"start": dt.date(2026, 7, 1)}, "bad_window"),
    ],
)
def test_bad_inputs_are_refused(kwargs, code):
    values = {"target": 1_000, **JUNE, **kwargs}
    with pytest.raises(SpecError) as caught:
        plan.PlanInputs(**values)
    assert caught.value.code == code


def test_bad_capacity_text_is_refused():
    with pytest.raises(SpecError, match="TEAM=N_PER_MONTH"):
        plan.parse_capacity("120")
    with pytest.raises(SpecError, match="throughput must be above 0"):
        plan.parse_capacity("inside_sales=0")


# --- saved plans and plan vs actual --------------------------------------------------


def test_a_saved_plan_against_the_actuals(april, make_contact, walk, sell, analytics):
    result = plan.make_plan(analytics(), plan.PlanInputs(target=20_000_000, **JUNE))
    saved = plan.save_plan("June push", plan.PlanInputs(target=20_000_000, **JUNE), result)
    assert SavedPlan.objects.get(pk=saved.pk).result["wins"] == 10
    assert saved.inputs["target"] == 20_000_000 and saved.inputs["rates"] == {}
    # what happened: one lead in May (who became an MQL), two in June, one of them sold (¥5,000,000)
    may = dt.datetime(2026, 5, 20, 10, 0, tzinfo=TOKYO)
    june = dt.datetime(2026, 6, 3, 10, 0, tzinfo=TOKYO)
    walk(make_contact(at=may), [("mql", may + DAY)])
    make_contact(at=june)
    sell(make_contact(at=june), june, 5_000_000)
    data = plan.compute(analytics(as_of=local(2026, 7, 15)), Spec(options={"plan": saved.pk})).as_dict()
    rows = by_stage(data)
    lead = {m["month"]: m for m in rows["lead"]["months"]}
    assert (lead["2026-05"]["required"], lead["2026-05"]["actual"], lead["2026-05"]["gap"]) == (11, 1, -10)
    assert (lead["2026-06"]["required"], lead["2026-06"]["actual"], lead["2026-06"]["gap"]) == (10, 2, -8)
    assert lead["2026-05"]["before_period"] is True and lead["2026-06"]["status"] == "done"
    assert rows["lead"]["required"] == 20 and rows["lead"]["actual"] == 3 and rows["lead"]["gap"] == -17
    assert rows["lead"]["to_date"] == {"required": 21, "actual": 3, "gap": -18}
    assert rows["won"]["actual"] == 1 and rows["won"]["gap"] == -9
    assert data["revenue"]["actual"] == 5_000_000 and data["revenue"]["won_deals"] == 1
    assert data["revenue"]["attainment"]["value"] == 0.25
    assert data["plan"]["name"] == "June push" and data["plan"]["from"] == "2026-06-01"


def test_months_not_yet_over_are_not_counted_to_date(april, analytics):
    result = plan.make_plan(analytics(), plan.PlanInputs(target=20_000_000, **JUNE))
    saved = plan.save_plan("June", plan.PlanInputs(target=20_000_000, **JUNE), result)
    data = plan.compute(analytics(as_of=local(2026, 6, 10)), Spec(options={"plan": saved.pk})).as_dict()
    lead = by_stage(data)["lead"]
    assert [m["status"] for m in lead["months"]] == ["done", "in_progress"]
    assert lead["to_date"]["required"] == 11
    early = plan.compute(analytics(as_of=local(2026, 5, 10)), Spec(options={"plan": saved.pk})).as_dict()
    assert [m["status"] for m in by_stage(early)["lead"]["months"]] == ["in_progress", "future"]
    assert by_stage(early)["lead"]["to_date"] == {"required": 0, "actual": 0, "gap": 0}


def test_plan_actual_refuses_a_missing_plan(defaults, analytics):
    with pytest.raises(SpecError) as caught:
        plan.compute(analytics(), Spec())
    assert caught.value.code == "no_plan"
    with pytest.raises(SpecError) as caught:
        plan.compute(analytics(), Spec(options={"plan": 999}))
    assert caught.value.code == "unknown_plan"


# --- the command line ----------------------------------------------------------------


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("plan", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


PUBLISHED_ARGS = [
    "--target",
    "120,000,000",
    "--deal-size",
    "2000000",
    "--period",
    "FY2026",
    "--rate",
    "lead:mql=0.1",
    "--rate",
    "mql:sal=80%",
    "--rate",
    "sal:sql=0.5",
    "--rate",
    "sql:opportunity=0.8",
    "--rate",
    "opportunity:won=0.25",
]


def test_cli_json_has_wins_and_stages_in_path_order(defaults):
    data = json.loads(run(*PUBLISHED_ARGS, "--capacity", "inside_sales=120", "--format", "json"))
    assert data["wins"] == 60
    assert [(s["stage"], s["required"]) for s in data["stages"]] == list(
        zip(PATH, [7500, 750, 600, 300, 240, 60], strict=True)
    )
    assert set(data["stages"][0]) >= {
        "stage",
        "required",
        "exact",
        "rate",
        "rate_source",
        "lag_days",
        "months",
    }
    assert data["capacity"][0]["team"] == "inside_sales" and data["capacity"][0]["peak_people"] == 1
    assert (data["from"], data["to"]) == ("2026-04-01", "2027-03-31")
    assert "saved" not in data


def test_cli_save_list_and_actual(april):
    data = json.loads(
        run("--target", "20000000", "--period", "2026-06", "--save", "June", "--format", "json")
    )
    plan_id = data["saved"]["id"]
    assert data["saved"] == {"id": plan_id, "name": "June"}
    listed = json.loads(run("--list", "--format", "json"))["plans"]
    assert [(p["id"], p["name"], p["target"]) for p in listed] == [(plan_id, "June", 20_000_000)]
    actual = json.loads(run("--actual", str(plan_id), "--as-of", "2026-07-15", "--format", "json"))
    assert actual["metric"] == "plan-actual" and actual["plan"]["id"] == plan_id
    assert by_stage(actual)["lead"]["required"] == 20
    report = io.StringIO()
    call_command("report", "plan-actual", "--plan", str(plan_id), "--format", "json", stdout=report)
    assert json.loads(report.getvalue())["plan"]["name"] == "June"


def test_cli_table_and_csv(defaults):
    table = run(*PUBLISHED_ARGS, "--capacity", "field_sales=8")
    header = table.splitlines()[0].split()
    assert header[:3] == ["stage", "required", "exact"] and header[-1] == "2027-03"
    assert any(line.startswith("people:field_sales") for line in table.splitlines())
    csv_text = run(*PUBLISHED_ARGS, "--format", "csv")
    assert csv_text.splitlines()[1].startswith("lead,7500,7500.0,0.1,given,,0.0,625")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--period", "2026-06"], "no_target: give the revenue target with --target AMOUNT"),
        (["--target", "1000"], "no_period: give the plan's period"),
        (["--target", "ten", "--period", "2026-06"], "bad_target: target must be a positive whole amount"),
        (["--target", "1000", "--period", "2026-06", "--rate", "mql:sal=2"], "bad_rate: --rate mql:sal"),
        (["--target", "1000", "--period", "2026-06", "--rate", "a:b=0.5"], "unknown_step: no step a:b"),
        (["--target", "1000", "--period", "2026-06", "--capacity", "x=3"], "unknown_team: capacity for 'x'"),
        (["--target", "1000", "--period", "2026-06"], "no_rate: no measured conversion"),
        (["--target", "1000", "--period", "2026-06", "--from", "2026-06-01"], "bad_window: give either"),
        (["--target", "1000", "--period", "2026-06", "--lookback-months", "0"], "bad_lookback"),
        (["--actual", "77"], "unknown_plan: no saved plan 77"),
    ],
)
def test_cli_refusals_name_what_to_fix(defaults, args, message):
    with pytest.raises(CommandError) as caught:
        run(*args)
    assert str(caught.value).startswith(message)


# --- against a plain-Python computation on the demo company --------------------------


def test_matches_a_plain_python_plan_on_the_demo_company(defaults, analytics):
    """Rates (cohort conversion over the lookback), medians, deal size and the whole chain on
    600 demo people, recomputed from the milestones rows and the deals (no SQL, no DuckDB)."""
    from kyogyo.deals.models import Deal
    from kyogyo.demo.build import build
    from kyogyo.journey.models import Milestone

    build(seed=3, people=600, end=dt.date(2026, 10, 31), driver="bulk")
    inputs = plan.PlanInputs(target=300_000_000, start=dt.date(2026, 4, 1), end=dt.date(2026, 9, 30))
    data = plan.make_plan(analytics(), inputs).as_dict()
    rows = by_stage(data)

    firsts = [
        {
            k: dt.datetime.fromisoformat(v).astimezone(TOKYO).replace(tzinfo=None, microsecond=0)
            for k, v in m.first_entered.items()
        }
        for m in Milestone.objects.all()
    ]
    start, end = local(2025, 4, 1), local(2026, 4, 1)
    won = [
        d.amount
        for d in Deal.objects.filter(status="won", currency="JPY")
        if start <= d.closed_at.astimezone(TOKYO).replace(tzinfo=None) < end
    ]
    deal_size = Fraction(sum(won), len(won))
    rates, lags = [], []
    for stage, nxt in itertools.pairwise(PATH):
        cohort = [f for f in firsts if stage in f and start <= f[stage] < end]
        advanced = [f for f in cohort if nxt in f and f[nxt] >= f[stage]]
        rates.append(Fraction(len(advanced), len(cohort)))
        lags.append(statistics.median((f[nxt] - f[stage]).total_seconds() / 86400 for f in advanced))
        assert rows[stage]["measured"]["numerator"] == len(advanced), stage
    exact = [Fraction(300_000_000) / deal_size]
    for rate in reversed(rates):
        exact.insert(0, exact[0] / rate)
    assert data["deal_size"]["won_deals"] == len(won) >= 5
    assert [rows[s]["required"] for s in PATH] == [math.ceil(x) for x in exact]
    assert [rows[s]["exact"] for s in PATH] == [round(float(x), 4) for x in exact]
    assert [rows[s]["days_to_next"] for s in PATH[:-1]] == [round(x, 2) for x in lags]
    assert rows["lead"]["lag_days"] == pytest.approx(sum(round(x, 2) for x in lags), abs=0.01)
