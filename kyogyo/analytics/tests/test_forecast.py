"""The forecast on hand-made deals whose numbers can be checked by hand (weighted pipeline,
a Monte Carlo that cannot miss, the closed-form mean), the seed, the edge cases, a plain-
Python reference on the demo company and the command line."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from kyogyo.analytics.metrics import forecast
from kyogyo.analytics.spec import Spec, SpecError
from kyogyo.deals.actions import qualify, win_deal
from kyogyo.deals.models import Deal, PipelineStage
from kyogyo.testing import T0, TOKYO, local

DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)
AS_OF = local(2026, 4, 6, 10, 0)  # T0 in company time


@pytest.fixture
def deal(make_contact):
    """``deal(amount, created, closed=None, won=True, stage="discovery", ...)``: a deal made
    straight in the database (the history needs many; the actions are tested in deals/)."""
    stages = {s.key: s for s in PipelineStage.objects.all()}

    def make(
        amount: int,
        created: dt.datetime,
        *,
        closed: dt.datetime | None = None,
        won: bool = True,
        stage: str = "discovery",
        currency: str = "JPY",
        expected_close: dt.date | None = None,
        probability: int | None = None,
        contact=None,
        owner=None,
    ) -> Deal:
        contact = contact or make_contact(at=created - HOUR)
        status = Deal.Status.OPEN if closed is None else (Deal.Status.WON if won else Deal.Status.LOST)
        if closed is not None:
            stage = "closed_won" if won else "closed_lost"
        return Deal.objects.create(
            name="deal",
            account=contact.account,
            contact=contact,
            amount=amount,
            currency=currency,
            pipeline_stage=stages[stage],
            status=status,
            probability=probability,
            expected_close=expected_close,
            created_at=created,
            closed_at=closed,
            owner=owner,
        )

    return make


def history(deal, won_days=(10.0,), lost_days=()) -> None:
    """Closed deals with the given cycles, all closed before T0."""
    for days, won in [*((d, True) for d in won_days), *((d, False) for d in lost_days)]:
        deal(1, T0 - dt.timedelta(days=200 + days), closed=T0 - dt.timedelta(days=200), won=won)


def one(result) -> dict:
    data = result.as_dict()
    assert len(data["currencies"]) == 1, data["currencies"]
    return data["currencies"][0]


# ------------------------------------------------------------------ by hand


def test_deals_that_surely_win_inside_the_window_give_their_sum_at_every_percentile(deal, analytics):
    """History: two won deals, 10-day cycles. Two open deals, 2 days old: every draw wins
    and closes 8 days later (14 April), inside April–June (the fiscal quarter of 6 April)."""
    history(deal, won_days=(10.0, 10.0))
    deal(100, T0 - 2 * DAY, expected_close=dt.date(2026, 5, 15))
    deal(200, T0 - 2 * DAY, stage="proposal")
    result = forecast.compute(analytics(as_of=AS_OF), Spec(options={"simulations": 500, "target": 300}))
    data = result.as_dict()
    assert (data["from"], data["to"]) == ("2026-04-06", "2026-06-30")
    row = one(result)
    mc = row["monte_carlo"]
    assert (mc["p10"], mc["p50"], mc["p90"], mc["expected"], mc["expected_exact"]) == (
        300,
        300,
        300,
        300,
        300,
    )
    assert mc["probability_of_target"] == 1.0 and mc["deals_considered"] == 2
    # weighted: only the deal expected to close in the window, at discovery's 10 %
    weighted = row["weighted_pipeline"]
    assert (weighted["deals"], weighted["amount"], weighted["weighted"]) == (1, 100, 10.0)
    assert weighted["no_expected_close"] == 1
    assert data["history"]["win_rate"] == {"numerator": 2, "denominator": 2, "value": 1.0, "small": True}
    assert data["history"]["median_cycle_days"] == 10.0


def test_all_open_weights_every_open_deal_by_its_stage_or_own_probability(deal, analytics):
    history(deal)
    deal(1000, T0 - DAY)  # discovery 10 % → 100
    deal(1000, T0 - DAY, stage="proposal")  # 50 % → 500
    deal(1000, T0 - DAY, stage="proposal", probability=90)  # own 90 % → 900
    deal(1000, T0 - DAY, stage="negotiation", expected_close=dt.date(2027, 1, 1))  # 75 % → 750
    row = one(forecast.compute(analytics(as_of=AS_OF), Spec(options={"all_open": True, "simulations": 10})))
    weighted = row["weighted_pipeline"]
    assert (weighted["deals"], weighted["amount"], weighted["weighted"]) == (4, 4000, 2250.0)
    stages = {r["stage"]: r for r in weighted["by_stage"]}
    assert [r["stage"] for r in weighted["by_stage"]] == ["discovery", "proposal", "negotiation"]
    assert stages["proposal"] == {
        "stage": "proposal",
        "name": "Proposal",
        "probability_percent": 70.0,
        "deals": 2,
        "amount": 2000,
        "weighted": 1400.0,
    }
    assert weighted["no_expected_close"] == 0


def closed_form_case(deal) -> tuple[float, Spec]:
    """Won cycles 5, 20, 40, 80 days; lost 10, 30, 60. Window: as-of (6 April 10:00) to
    5 May inclusive, i.e. 29 days 14 hours ahead. Open deals of age 0, 15 and 50 days:

    - age 0: p = 4 won ÷ 7 closed longer than 0 days; of the cycles 5, 20, 40, 80 those
      below 29.58 days close in the window: q = 2/4 → 1,000,000 × 4/7 × 1/2
    - age 15: p = 3 ÷ 5 (20, 40, 80 against 30, 60); cycles 20 and 40 are below
      15 + 29.58: q = 2/3 → 500,000 × 3/5 × 2/3 = 200,000
    - age 50: p = 1 ÷ 2; the only longer cycle (80) ends after the window: q = 0."""
    history(deal, won_days=(5, 20, 40, 80), lost_days=(10, 30, 60))
    deal(1_000_000, T0)
    deal(500_000, T0 - 15 * DAY)
    deal(700_000, T0 - 50 * DAY)
    expected = 1_000_000 * 4 / 7 * 1 / 2 + 500_000 * 3 / 5 * 2 / 3
    return expected, Spec(end=dt.date(2026, 5, 5), options={"simulations": 40_000, "seed": 1})


def test_the_simulated_mean_matches_the_closed_form(deal, analytics):
    expected, spec = closed_form_case(deal)
    row = one(forecast.compute(analytics(as_of=AS_OF), spec))
    mc = row["monte_carlo"]
    assert mc["expected_exact"] == round(expected, 2)  # 485,714.29
    # standard deviation of the total ≤ √(Σ a² p q (1 − p q)) ≈ 540,000; / √40,000 ≈ 2,700
    assert abs(mc["expected"] - expected) < 4 * 2_700
    assert mc["p10"] == 0 and mc["p90"] == 1_500_000  # both winning deals together
    assert mc["p50"] in (0, 500_000, 1_000_000)


def test_the_seed_makes_runs_reproducible_and_another_seed_differs(deal, analytics):
    _, spec = closed_form_case(deal)
    context = analytics(as_of=AS_OF)

    def run(seed: int) -> dict:
        options = {"simulations": 2_000, "seed": seed, "target": 1_000_000}
        return one(forecast.compute(context, Spec(end=spec.end, options=options)))["monte_carlo"]

    first, again, other = run(1), run(1), run(2)
    assert first == again
    assert other["expected"] != first["expected"]
    assert other["expected_exact"] == first["expected_exact"]
    # P(≥ 1,000,000) = P(the 1,000,000 deal hits) = 2/7 ≈ 0.286, sampled
    assert abs(first["probability_of_target"] - 2 / 7) < 0.04


def test_win_probability_and_cycle_are_conditioned_on_the_deal_age(deal, analytics):
    """An open deal older than every won cycle cannot be given a measured chance: p = 0,
    counted as beyond the history, with a note."""
    history(deal, won_days=(10, 20), lost_days=(100,))
    deal(1_000, T0 - 30 * DAY)
    data = forecast.compute(analytics(as_of=AS_OF), Spec(options={"simulations": 100})).as_dict()
    mc = data["currencies"][0]["monte_carlo"]
    assert mc["beyond_history"] == 1 and mc["expected"] == 0 and mc["p90"] == 0
    assert any("older than every won deal" in n for n in data["notes"])
    by_age = {r["age_days"]: r["win_rate"] for r in data["history"]["win_rate_by_age"]}
    assert by_age[0]["numerator"] == 2 and by_age[0]["denominator"] == 3
    assert by_age[30] == {"numerator": 0, "denominator": 1, "value": 0.0, "small": True}
    assert by_age[180]["value"] is None  # nobody stayed open that long: no rate, not 0


def test_currencies_are_forecast_apart(deal, analytics):
    history(deal, won_days=(10.0,))
    deal(100, T0 - DAY)
    deal(7, T0 - DAY, currency="USD")
    data = forecast.compute(analytics(as_of=AS_OF), Spec(options={"simulations": 50, "target": 50})).as_dict()
    rows = {c["currency"]: c["monte_carlo"] for c in data["currencies"]}
    assert rows["JPY"]["p50"] == 100 and rows["USD"]["p50"] == 7
    assert rows["JPY"]["probability_of_target"] == 1.0 and rows["USD"]["probability_of_target"] == 0.0
    assert any("each currency" in n for n in data["notes"])
    only = forecast.compute(analytics(as_of=AS_OF), Spec(options={"currency": "usd", "simulations": 5}))
    assert [c["currency"] for c in only.as_dict()["currencies"]] == ["USD"]


def test_a_past_as_of_sees_deals_closed_since_as_open_without_a_stage(deal, analytics):
    """As of 6 April, a deal created 1 April and won 10 April was open: simulated, but its
    pipeline stage then is unknown (closed deals keep only won/lost), so it is not weighted.
    A deal won on 3 April inside the window counts as won to date."""
    history(deal, won_days=(9.0,))
    deal(500, T0 - 5 * DAY, closed=T0 + 4 * DAY)
    deal(80, T0 - 10 * DAY, closed=T0 - 3 * DAY)
    data = forecast.compute(analytics(as_of=AS_OF), Spec(start=dt.date(2026, 4, 1))).as_dict()
    row = data["currencies"][0]
    assert row["open_deals"] == 1 and row["weighted_pipeline"]["stage_unknown"] == 1
    assert row["weighted_pipeline"]["deals"] == 0
    assert row["won_to_date"] == {"deals": 1, "amount": 80}
    # won cycles: 9 days and the 7 days of the deal closed 3 April, both longer than the open
    # deal's 5 days: p = 1, and both close it by 10 April, inside the window: q = 1
    assert row["monte_carlo"]["expected_exact"] == 500.0
    assert data["simulated_from"] == "2026-04-06T10:00:00"


def test_filters_take_the_deal_dimensions(deal, make_contact, people, analytics):
    """Industry of the deal's account, owner of the deal; the history is filtered too."""
    history(deal)
    deal(100, T0 - DAY, contact=make_contact(at=T0 - 2 * DAY, industry="retail"), owner=people.fs_rep)
    deal(900, T0 - DAY, contact=make_contact(at=T0 - 2 * DAY, industry="finance"), owner=people.fs_rep2)
    context = analytics(as_of=AS_OF)
    retail = forecast.compute(context, Spec(filters={"industry": "retail"}, options={"simulations": 10}))
    row = one(retail)
    assert row["open_deals"] == 1 and row["open_amount"] == 100
    assert retail.as_dict()["history"]["closed_deals"] == 0  # the history deals are in software
    mine = one(forecast.compute(context, Spec(filters={"owner": "fs_rep2"}, options={"simulations": 10})))
    assert mine["open_amount"] == 900


def test_deals_made_through_the_actions_are_forecast(make_contact, walk, people, analytics, deal):
    """The same path as production: qualify opens the deal (SQL), Field Sales accepts it."""
    history(deal, won_days=(20.0,))
    contact = walk(make_contact(at=T0 - 3 * DAY), [("mql", T0 - 2 * DAY), ("sal", T0 - 2 * DAY + HOUR)])
    made = qualify(contact, actor=people.is_rep, name="Pilot", amount=1_200_000, at=T0 - DAY)
    walk(contact, [("opportunity", T0 - DAY + HOUR)])
    row = one(forecast.compute(analytics(as_of=AS_OF), Spec(options={"simulations": 20, "all_open": True})))
    assert row["monte_carlo"]["p50"] == 1_200_000
    assert row["weighted_pipeline"]["weighted"] == 120_000.0
    win_deal(Deal.objects.get(pk=made.pk), actor=people.fs_rep, at=T0 + HOUR)
    spec = Spec(start=dt.date(2026, 4, 1), options={"simulations": 20})
    later = one(forecast.compute(analytics(as_of=local(2026, 4, 7)), spec))
    assert later["open_deals"] == 0 and later["won_to_date"]["amount"] == 1_200_000


# ------------------------------------------------------------------ edge cases


def test_an_empty_pipeline_forecasts_zero_with_a_note(defaults, analytics):
    data = forecast.compute(analytics(as_of=AS_OF), Spec(options={"target": 1})).as_dict()
    assert len(data["currencies"]) == 1
    row = data["currencies"][0]
    assert row["currency"] == "JPY" and row["open_deals"] == 0
    mc = row["monte_carlo"]
    assert (mc["expected"], mc["p10"], mc["p50"], mc["p90"], mc["probability_of_target"]) == (0, 0, 0, 0, 0)
    assert row["weighted_pipeline"]["weighted"] == 0
    assert any("no open deals" in n for n in data["notes"])
    assert any("no closed deals" in n for n in data["notes"])
    assert data["history"]["win_rate"]["value"] is None


def test_no_won_deal_in_history_forecasts_zero(deal, analytics):
    history(deal, won_days=(), lost_days=(5, 6))
    deal(100, T0 - DAY)
    data = forecast.compute(analytics(as_of=AS_OF), Spec(options={"simulations": 10})).as_dict()
    assert data["currencies"][0]["monte_carlo"]["p90"] == 0
    assert data["history"]["win_rate"]["value"] == 0.0
    assert any("no won deals" in n for n in data["notes"])


def test_the_default_window_follows_the_fiscal_calendar(defaults, analytics):
    from kyogyo.analytics.models import AnalyticsSettings

    assert forecast.fiscal_quarter_end(dt.date(2026, 4, 6), 4) == dt.date(2026, 6, 30)
    assert forecast.fiscal_quarter_end(dt.date(2026, 3, 31), 4) == dt.date(2026, 3, 31)
    assert forecast.fiscal_quarter_end(dt.date(2026, 2, 1), 1) == dt.date(2026, 3, 31)
    assert forecast.fiscal_quarter_end(dt.date(2026, 12, 1), 11) == dt.date(2027, 1, 31)
    settings = AnalyticsSettings.load()
    settings.fiscal_year_start_month = 1
    settings.save()
    data = forecast.compute(analytics(as_of=local(2026, 5, 2)), Spec(options={"simulations": 1})).as_dict()
    assert (data["from"], data["to"]) == ("2026-05-02", "2026-06-30")


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"end": dt.date(2026, 3, 1)}, "window_in_past"),
        ({"options": {"simulations": 0}}, "bad_simulations"),
        ({"options": {"simulations": 2.5}}, "bad_simulations"),
        ({"options": {"seed": -1}}, "bad_seed"),
        ({"options": {"target": -5}}, "bad_target"),
        ({"options": {"currency": "yen!"}}, "bad_currency"),
        ({"by": ("segment",)}, "unsupported_slice"),
        ({"unit": "account"}, "unsupported_unit"),
        ({"filters": {"shoe_size": "9"}}, "unknown_dimension"),
    ],
)
def test_bad_input_is_refused_by_name(defaults, analytics, kwargs, code):
    with pytest.raises(SpecError) as caught:
        forecast.compute(analytics(as_of=AS_OF), Spec(**kwargs))
    assert caught.value.code == code


# ------------------------------------------------------------------ reference


def reference(as_of: dt.datetime, window_end: dt.datetime) -> dict[str, float]:
    """The closed-form expectation per currency straight from the ORM rows, in plain Python."""

    def days(a: dt.datetime, b: dt.datetime) -> float:
        return (b - a).total_seconds() / 86400

    deals = list(Deal.objects.all())
    closed = [
        d for d in deals if d.closed_at is not None and d.closed_at <= as_of and d.closed_at >= d.created_at
    ]
    won = [days(d.created_at, d.closed_at) for d in closed if d.status == Deal.Status.WON]  # type: ignore[arg-type]
    lost = [days(d.created_at, d.closed_at) for d in closed if d.status == Deal.Status.LOST]  # type: ignore[arg-type]
    totals: dict[str, float] = {}
    for d in deals:
        if d.created_at > as_of or (d.closed_at is not None and d.closed_at <= as_of):
            continue
        age = days(d.created_at, as_of)
        longer = [c for c in won if c > age]
        closed_longer = len(longer) + len([c for c in lost if c > age])
        p = len(longer) / closed_longer if closed_longer else 0.0
        inside = [c for c in longer if c < days(d.created_at, window_end)]
        q = len(inside) / len(longer) if longer else 0.0
        totals[d.currency] = totals.get(d.currency, 0.0) + d.amount * p * q
    return totals


def test_matches_a_plain_python_closed_form_on_the_demo_company(defaults, analytics):
    """On a demo company forecast from three days (to the end of each fiscal quarter), the
    closed-form mean equals the plain-Python one from the ORM rows, and the simulated mean
    is within 3 % of it (about ten standard errors)."""
    from kyogyo.demo.build import build

    build(seed=5, people=2500, end=dt.date(2026, 10, 31), driver="bulk")
    considered, forecast_total = 0, 0.0
    for as_of, end in [
        (local(2025, 10, 1, 9, 0), dt.date(2025, 12, 31)),
        (local(2026, 1, 15, 9, 0), dt.date(2026, 3, 31)),
        (local(2026, 7, 1, 9, 0), dt.date(2026, 9, 30)),
    ]:
        spec = Spec(options={"simulations": 20_000, "seed": 3})
        data = forecast.compute(analytics(as_of=as_of), spec).as_dict()
        assert data["to"] == end.isoformat()
        window_end = dt.datetime.combine(end + DAY, dt.time(), tzinfo=TOKYO)
        expected = reference(as_of.replace(tzinfo=TOKYO), window_end)
        rows = {c["currency"]: c["monte_carlo"] for c in data["currencies"]}
        assert set(rows) == set(expected)
        for currency, value in expected.items():
            assert rows[currency]["expected_exact"] == pytest.approx(value, rel=1e-9, abs=0.01)
            assert rows[currency]["expected"] == pytest.approx(value, rel=0.03)
            considered += rows[currency]["deals_considered"]
            forecast_total += value
        assert data["history"]["closed_deals"] > 30
    assert considered > 15 and forecast_total > 0


# ------------------------------------------------------------------ command line


def report(*args: str) -> str:
    out = io.StringIO()
    call_command("report", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_command_line_json_and_table(deal):
    history(deal, won_days=(10.0, 10.0))
    deal(100, T0 - 2 * DAY)
    deal(200, T0 - 2 * DAY)
    data = json.loads(
        report(
            "forecast", "--format", "json", "--as-of", "2026-04-06", "--simulations", "300", "--seed", "9",
            "--target", "250", "--to", "2026-04-30",
        )
    )  # fmt: skip
    assert data["metric"] == "forecast" and data["simulations"] == 300 and data["seed"] == 9
    assert data["as_of"] == "2026-04-06T23:59:59" and data["to"] == "2026-04-30"
    mc = data["currencies"][0]["monte_carlo"]
    assert mc["p10"] == 300 and mc["probability_of_target"] == 1.0
    table = report("forecast", "--as-of", "2026-04-06", "--simulations", "10")
    assert table.splitlines()[0].split()[:3] == ["currency", "open_deals", "weighted_pipeline"]
    assert "JPY" in table.splitlines()[2]


def test_command_line_refuses_a_window_in_the_past(deal):
    with pytest.raises(CommandError, match="window_in_past"):
        report("forecast", "--as-of", "2026-04-06", "--period", "2025-04")
