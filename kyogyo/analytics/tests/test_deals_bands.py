"""Deals and bands on hand-made deals whose numbers can be checked by hand, on the demo
company against a plain-Python computation from the ORM, edge cases and the CLI."""

from __future__ import annotations

import datetime as dt
import io
import json
import statistics
from collections import Counter
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from kyogyo.analytics.metrics import bands, deals
from kyogyo.analytics.models import AnalyticsSettings, Target
from kyogyo.analytics.spec import Rate, Spec, SpecError, percentile
from kyogyo.testing import TOKYO

DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)
DOCS = Path(__file__).resolve().parents[3] / "docs" / "analytics"
APRIL = {"start": dt.date(2026, 4, 1), "end": dt.date(2026, 4, 30)}


def at(month: int, day: int, hour: int = 12) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, 0, tzinfo=TOKYO)


def make_deal(
    make_contact,
    walk,
    people,
    *,
    created: dt.datetime,
    amount: int,
    won: dt.datetime | None = None,
    lost: tuple[str, dt.datetime] | None = None,
    currency: str = "JPY",
    employees: int | None = 500,
    expected_close: dt.date | None = None,
    campaign_id: int | None = None,
    source: str = "",
    owner=None,
    contact=None,
    mql: dt.datetime | None = None,
):
    """A person walked lead → MQL (at ``mql``, default 2 hours before the deal) → SAL → SQL
    (the deal is created at ``created``) → opportunity, then the deal won at ``won`` or lost
    at ``lost = (reason key, time)``."""
    from kyogyo.deals.actions import lose_deal, qualify, update_deal, win_deal
    from kyogyo.deals.models import Deal
    from kyogyo.journey.models import ReasonCode

    mql = mql or created - 2 * HOUR
    if contact is None:
        contact = make_contact(at=mql - HOUR, employees=employees, source=source)
    walk(contact, [("mql", mql), ("sal", created - HOUR)])
    deal = qualify(
        contact,
        actor=people.is_rep,
        name="Deal",
        amount=amount,
        currency=currency,
        expected_close=expected_close,
        at=created,
        campaign_id=campaign_id,
    )
    walk(contact, [("opportunity", created + HOUR)])
    deal = Deal.objects.get(pk=deal.pk)
    if owner is not None:
        deal = update_deal(deal, owner=owner)
    if won:
        deal = win_deal(deal, actor=deal.owner, at=won)
    elif lost:
        reason = ReasonCode.objects.get(kind=ReasonCode.Kind.LOSS, key=lost[0])
        deal = lose_deal(deal, actor=deal.owner, reason=reason, at=lost[1])
    return deal


@pytest.fixture
def deal(make_contact, walk, people):
    def make(**kwargs):
        return make_deal(make_contact, walk, people, **kwargs)

    return make


@pytest.fixture
def april(deal, people):
    """Closed in April: won 1 000 000 (cycle 10 days), 3 000 000 (20 days), 8 000 000
    (45 days); lost 1 500 000 (price) and 6 000 000 (no decision). Open: 2 000 000 at
    discovery (10 %, no expected close) and 4 000 000 at proposal (50 %, expected in June).
    Won in May (outside the window): 5 000 000."""
    from kyogyo.deals.actions import move_deal
    from kyogyo.deals.models import PipelineStage

    fs, fs2 = people.fs_rep, people.fs_rep2
    made = {
        "w1": deal(created=at(4, 10) - 10 * DAY, won=at(4, 10), amount=1_000_000, employees=20, owner=fs),
        "w2": deal(created=at(4, 15) - 20 * DAY, won=at(4, 15), amount=3_000_000, employees=20, owner=fs),
        "w3": deal(created=at(4, 20) - 45 * DAY, won=at(4, 20), amount=8_000_000, employees=2000, owner=fs2),
        "l1": deal(created=at(4, 1), lost=("price", at(4, 8)), amount=1_500_000, employees=100, owner=fs),
        "l2": deal(
            created=at(4, 2), lost=("no_decision", at(4, 28)), amount=6_000_000, employees=None, owner=fs2
        ),
        "o1": deal(created=at(4, 3), amount=2_000_000, owner=fs),
        "o2": deal(created=at(4, 4), amount=4_000_000, expected_close=dt.date(2026, 6, 15), owner=fs2),
        "may": deal(created=at(4, 5), won=at(5, 7), amount=5_000_000, owner=fs),
    }
    made["o2"] = move_deal(made["o2"], PipelineStage.objects.get(key="proposal"))
    return made


def totals(result) -> dict:
    (figures,) = result.as_dict()["totals"]
    return figures


# --- deals: hand-checkable numbers -------------------------------------------------------


def test_win_rate_deal_size_and_cycle_of_deals_closed_in_the_window(april, analytics):
    f = totals(deals.compute(analytics(), Spec(**APRIL)))
    assert f["currency"] == "JPY"
    assert (f["closed"], f["won"], f["lost"], f["no_decision"]) == (5, 3, 2, 1)
    assert f["win_rate"] == {"numerator": 3, "denominator": 5, "value": 0.6, "small": True}
    assert f["won_amount"] == 12_000_000
    assert f["average_deal_size"] == 4_000_000 and f["median_deal_size"] == 3_000_000
    # cycles 10, 20, 45 days: p80 = 20 + 0.6 × (45 − 20)
    assert f["cycle_days"] == {"deals": 3, "median": 20.0, "p80": 35.0, "mean": 25.0}


def test_loss_reasons_count_no_decision_as_its_own_reason(april, analytics):
    f = totals(deals.compute(analytics(), Spec(**APRIL)))
    reasons = {r["reason"]: r for r in f["loss_reasons"]}
    assert set(reasons) == {"price", "no_decision"}
    assert reasons["no_decision"]["label"] == "No decision (do nothing)"
    assert reasons["no_decision"]["count"] == 1
    assert reasons["no_decision"]["share"] == {"numerator": 1, "denominator": 2, "value": 0.5, "small": True}


def test_open_pipeline_weighted_and_sales_velocity(april, analytics):
    f = totals(deals.compute(analytics(), Spec(**APRIL)))
    # 2 000 000 × 10 % + 4 000 000 × 50 %
    assert f["open_pipeline"] == {"count": 2, "amount": 6_000_000, "weighted_amount": 2_200_000.0}
    # 2 open × 0.6 × 4 000 000 ÷ 25 days
    assert f["sales_velocity_per_day"] == 192_000.0


def test_coverage_against_a_target(april, analytics):
    result = deals.compute(analytics(), Spec(options={"target": 20_000_000}, **APRIL)).as_dict()
    coverage = result["coverage"]
    assert coverage["target_source"] == "option"
    assert (coverage["won_amount"], coverage["remaining_target"], coverage["target_met"]) == (
        12_000_000,
        8_000_000,
        False,
    )
    # only the deal without an expected close counts for April; the other is expected in June
    assert coverage["pipeline"]["count"] == 1 and coverage["pipeline"]["amount"] == 2_000_000
    assert coverage["coverage"] == 0.25
    assert coverage["required_coverage"] == pytest.approx(1 / 0.6, abs=1e-4)
    assert coverage["enough"] is False
    met = deals.compute(analytics(), Spec(options={"target": 10_000_000}, **APRIL)).as_dict()["coverage"]
    assert met["target_met"] is True and met["remaining_target"] == 0 and met["coverage"] is None
    assert deals.compute(analytics(), Spec(**APRIL)).as_dict()["coverage"] is None


def test_coverage_uses_a_known_revenue_target_of_the_window(april, analytics):
    Target.objects.create(
        metric="revenue", starts_on=dt.date(2026, 4, 1), ends_on=dt.date(2026, 4, 30), value=2e7
    )
    coverage = deals.compute(analytics(), Spec(**APRIL)).as_dict()["coverage"]
    assert coverage["target"] == 20_000_000 and coverage["target_source"] == "targets"
    assert coverage["coverage"] == 0.25
    # a target of another period does not apply to May
    may = deals.compute(analytics(), Spec(start=dt.date(2026, 5, 1), end=dt.date(2026, 5, 31)))
    assert may.as_dict()["coverage"] is None


def test_slices_by_owner_team_and_company_size(april, analytics):
    data = deals.compute(analytics(), Spec(by=("owner",), **APRIL)).as_dict()
    by_owner = {s["key"]: s for s in data["slices"]}
    assert set(by_owner) == {"fs_rep", "fs_rep2"}
    assert (by_owner["fs_rep"]["won"], by_owner["fs_rep"]["lost"]) == (2, 1)
    assert (by_owner["fs_rep2"]["won"], by_owner["fs_rep2"]["lost"]) == (1, 1)
    assert by_owner["fs_rep2"]["loss_reasons"][0]["reason"] == "no_decision"
    assert by_owner["fs_rep"]["open_pipeline"]["amount"] == 2_000_000
    team = deals.compute(analytics(), Spec(by=("team",), **APRIL)).as_dict()["slices"]
    assert [(s["key"], s["closed"]) for s in team] == [("field_sales", 5)]
    sizes = deals.compute(analytics(), Spec(by=("company_size",), **APRIL)).as_dict()["slices"]
    assert {s["key"]: s["closed"] for s in sizes} == {
        "<50": 2,
        "50–299": 1,
        "300–999": 0,
        "1000+": 1,
        "(none)": 1,
    }
    # a slice with open deals only: no closed deal, still its pipeline
    middle = next(s for s in sizes if s["key"] == "300–999")
    assert middle["win_rate"]["value"] is None and middle["open_pipeline"]["count"] == 2
    # totals are over every slice
    assert data["totals"][0]["closed"] == 5


def test_slices_by_campaign_and_source(deal, analytics):
    from kyogyo.marketing.models import Campaign

    webinar = Campaign.objects.create(name="Spring webinar", channel="webinar")
    deal(created=at(4, 1), won=at(4, 9), amount=100, campaign_id=webinar.pk, source="event")
    deal(created=at(4, 1), lost=("price", at(4, 9)), amount=100, source="event")
    deal(created=at(4, 1), won=at(4, 9), amount=100, source="")
    by_campaign = deals.compute(analytics(), Spec(by=("campaign",), **APRIL)).as_dict()["slices"]
    assert {s["key"]: (s["won"], s["lost"]) for s in by_campaign} == {
        "Spring webinar": (1, 0),
        "(none)": (1, 1),
    }
    by_source = deals.compute(analytics(), Spec(by=("source",), **APRIL)).as_dict()["slices"]
    assert {s["key"]: (s["won"], s["lost"]) for s in by_source} == {"event": (1, 1), "(none)": (1, 0)}
    only_event = deals.compute(analytics(), Spec(filters={"source": "event"}, **APRIL))
    assert totals(only_event)["win_rate"]["value"] == 0.5


def test_money_is_reported_per_currency(deal, analytics):
    deal(created=at(4, 1), won=at(4, 11), amount=1_000_000)  # JPY
    deal(created=at(4, 1), won=at(4, 21), amount=250_000, currency="USD")  # 2 500.00 USD
    deal(created=at(4, 1), lost=("price", at(4, 9)), amount=90_000, currency="USD")
    data = deals.compute(analytics(), Spec(**APRIL)).as_dict()
    per = {f["currency"]: f for f in data["totals"]}
    assert per["JPY"]["won_amount"] == 1_000_000 and per["JPY"]["win_rate"]["value"] == 1.0
    assert per["USD"]["won_amount"] == 250_000 and per["USD"]["win_rate"]["value"] == 0.5
    assert per["USD"]["cycle_days"]["median"] == 20.0
    with pytest.raises(SpecError) as caught:
        deals.compute(analytics(), Spec(options={"target": 5_000_000}, **APRIL))
    assert caught.value.code == "mixed_currencies"
    usd = deals.compute(analytics(), Spec(options={"target": 500_000, "currency": "USD"}, **APRIL)).as_dict()
    assert [f["currency"] for f in usd["totals"]] == ["USD"]
    assert usd["coverage"]["remaining_target"] == 250_000


# --- published worked examples ---------------------------------------------------------


def figures(open_count: int, won: int, closed: int, average: float, mean_cycle: float) -> deals.Figures:
    none = deals.Pipeline(0, 0, 0.0)
    return deals.Figures(
        currency="USD",
        won=won,
        lost=closed - won,
        no_decision=0,
        win_rate=Rate(won, closed),
        won_amount=0,
        average_deal_size=average,
        median_deal_size=None,
        cycle=deals.Cycle(won, None, None, mean_cycle),
        loss_reasons=[],
        open_pipeline=deals.Pipeline(open_count, 0, 0.0),
        period_pipeline=none,
    )


@pytest.mark.parametrize(
    ("open_count", "won", "closed", "average", "cycle", "published"),
    [
        # askedwell.com, "What is sales velocity?": 50 opps × 25 % × $12,000 ÷ 90 days ≈ $1,667/day
        (50, 25, 100, 12_000, 90, 1_666.67),
        # optif.ai, "What is Sales Velocity": (50 × $50,000 × 0.25) ÷ 45 days = $13,889/day
        (50, 1, 4, 50_000, 45, 13_888.89),
        # winsabove glossary, "Sales Velocity": (18 × 42,000 × 0.24) ÷ 78 = 181,440 ÷ 78 = $2,326/day
        (18, 24, 100, 42_000, 78, 2_326.15),
    ],
)
def test_sales_velocity_of_published_examples(open_count, won, closed, average, cycle, published):
    velocity = figures(open_count, won, closed, average, cycle).as_dict()["sales_velocity_per_day"]
    assert velocity == published


def test_required_coverage_is_the_inverse_of_the_win_rate():
    """The usual rule of thumb: a 25 % win rate needs 4× pipeline coverage, 33 % about 3×."""
    for won, closed, required, enough in ((1, 4, 4.0, False), (1, 3, 3.0, True), (3, 10, 3.3333, False)):
        coverage = deals.Coverage(
            "JPY", 1_000, "option", 0, deals.Pipeline(1, 3_000, 0.0), Rate(won, closed)
        ).as_dict()
        assert coverage["required_coverage"] == required
        assert coverage["coverage"] == 3.0 and coverage["enough"] is enough


# --- deals: edge cases ---------------------------------------------------------------


def test_an_empty_window_gives_zeros_and_no_rates(april, analytics):
    f = totals(deals.compute(analytics(), Spec(start=dt.date(2020, 1, 1), end=dt.date(2020, 1, 31))))
    assert (f["closed"], f["won"], f["won_amount"]) == (0, 0, 0)
    assert f["win_rate"]["value"] is None and f["average_deal_size"] is None
    assert f["cycle_days"] == {"deals": 0, "median": None, "p80": None, "mean": None}
    assert f["sales_velocity_per_day"] is None and f["loss_reasons"] == []


def test_no_deals_at_all(defaults, analytics):
    data = deals.compute(analytics(), Spec(options={"target": 1000})).as_dict()
    (f,) = data["totals"]
    assert f["currency"] is None and f["closed"] == 0 and f["open_pipeline"]["count"] == 0
    assert data["coverage"]["coverage"] == 0.0 and data["coverage"]["required_coverage"] is None


def test_only_losses_give_a_zero_win_rate_and_no_velocity(deal, analytics):
    deal(created=at(4, 1), lost=("competitor_chosen", at(4, 9)), amount=100)
    deal(created=at(4, 1), amount=100)
    f = totals(deals.compute(analytics(), Spec(**APRIL)))
    assert f["win_rate"]["value"] == 0.0 and f["average_deal_size"] is None
    assert f["sales_velocity_per_day"] is None and f["open_pipeline"]["count"] == 1


def test_a_slice_with_one_deal(april, analytics):
    data = deals.compute(analytics(), Spec(by=("company_size",), filters={"company_size": "1000+"}, **APRIL))
    (only,) = data.as_dict()["slices"]
    assert only["closed"] == 1 and only["win_rate"]["small"] is True
    assert only["cycle_days"]["median"] == only["cycle_days"]["p80"] == 45.0


@pytest.mark.parametrize(
    ("options", "code"),
    [
        ({"target": 0}, "bad_target"),
        ({"target": "lots"}, "bad_target"),
        ({"currency": "yen"}, "bad_currency"),
    ],
)
def test_bad_deal_options_are_refused(defaults, analytics, options, code):
    with pytest.raises(SpecError) as caught:
        deals.compute(analytics(), Spec(options=options))
    assert caught.value.code == code


def test_unknown_slices_and_the_account_unit_are_refused_by_name(defaults, analytics):
    with pytest.raises(SpecError, match="cannot slice by 'month'"):
        deals.compute(analytics(), Spec(by=("month",)))
    for module in (deals, bands):
        with pytest.raises(SpecError, match="--unit account does not apply") as caught:
            module.compute(analytics(), Spec(unit="account"))
        assert caught.value.code == "bad_unit"


# --- bands -------------------------------------------------------------------------


@pytest.fixture
def two_needed(db):
    settings = AnalyticsSettings.load()
    settings.small_denominator = 2
    settings.save()


def by_band(result) -> dict[str, dict]:
    return {b["band"]: b for b in result.as_dict()["bands"]}


def test_deal_size_bands_with_their_recommendation(april, two_needed, analytics):
    spec = Spec(options={"dimension": "deal_size", "edges": [2_000_000, 5_000_000]}, **APRIL)
    result = bands.compute(analytics(), spec)
    found = by_band(result)
    assert list(found) == ["<2000000", "2000000–4999999", "5000000+"]
    small = found["<2000000"]  # won 1 000 000 in 10 days, lost 1 500 000
    assert (small["closed"], small["won"], small["win_rate"]["value"]) == (2, 1, 0.5)
    assert (small["median_cycle_days"], small["won_amount"], small["average_won_amount"]) == (
        10.0,
        1_000_000,
        1e6,
    )
    assert small["recommendation"] == "inside_sales"
    assert (
        small["reason"]
        == "Inside Sales can close alone: median cycle 10.0 days ≤ 30 and win rate 50.0% ≥ 25%"
    )
    assert found["2000000–4999999"]["recommendation"] == "insufficient_data"
    assert found["2000000–4999999"]["reason"] == "only 1 closed deal, fewer than the 2 needed to judge"
    large = found["5000000+"]  # won 8 000 000 in 45 days, lost 6 000 000 to no decision
    assert large["recommendation"] == "field_sales"
    assert large["reason"] == "needs Field Sales: median cycle 45.0 days > 30"
    data = result.as_dict()
    assert data["currency"] == "JPY" and data["edges"] == [2_000_000, 5_000_000]
    assert data["thresholds"] == {
        "min_closed": 2,
        "inside_sales_max_cycle_days": 30,
        "inside_sales_min_win_rate_percent": 25,
    }


def test_company_size_bands_use_the_account_and_show_unknown_sizes(april, two_needed, analytics):
    found = by_band(bands.compute(analytics(), Spec(options={"dimension": "company_size"}, **APRIL)))
    assert list(found) == ["<50", "50–299", "300–999", "1000+", "(none)"]
    assert (found["<50"]["closed"], found["<50"]["won"], found["<50"]["median_cycle_days"]) == (2, 2, 15.0)
    assert found["<50"]["recommendation"] == "inside_sales"
    assert found["300–999"]["closed"] == 0 and found["300–999"]["win_rate"]["value"] is None
    assert found["300–999"]["recommendation"] == "insufficient_data"
    assert found["(none)"]["closed"] == 1 and found["(none)"]["won"] == 0


def test_default_edges_come_from_the_settings(april, analytics):
    found = by_band(bands.compute(analytics(), Spec(**APRIL)))
    assert list(found) == ["<1000000", "1000000–4999999", "5000000–19999999", "20000000+"]
    assert sum(b["closed"] for b in found.values()) == 5
    assert all(b["recommendation"] == "insufficient_data" for b in found.values())  # fewer than 30 each


@pytest.mark.parametrize(
    ("win_rate", "cycle", "expected", "reason"),
    [
        (
            0.25,
            30.0,
            "inside_sales",
            "Inside Sales can close alone: median cycle 30.0 days ≤ 30 and win rate 25.0% ≥ 25%",
        ),
        (0.2, 12.0, "field_sales", "needs Field Sales: win rate 20.0% < 25%"),
        (0.1, 40.0, "field_sales", "needs Field Sales: median cycle 40.0 days > 30 and win rate 10.0% < 25%"),
        (0.0, None, "field_sales", "no won deal to measure a cycle (win rate 0.0% < 25%)"),
    ],
)
def test_recommendation_names_the_threshold_that_decided(win_rate, cycle, expected, reason):
    thresholds = bands.Thresholds(min_closed=30, max_cycle_days=30, min_win_rate_percent=25)
    assert bands.recommend(40, win_rate, cycle, thresholds) == (expected, reason)
    assert bands.recommend(29, win_rate, cycle, thresholds)[0] == "insufficient_data"


def test_bands_refuse_mixed_currencies_and_bad_edges(deal, analytics):
    deal(created=at(4, 1), won=at(4, 11), amount=1_000_000)
    deal(created=at(4, 1), won=at(4, 21), amount=250_000, currency="USD")
    context = analytics()
    with pytest.raises(SpecError) as caught:
        bands.compute(context, Spec(**APRIL))
    assert caught.value.code == "mixed_currencies"
    usd = bands.compute(context, Spec(options={"currency": "USD"}, **APRIL)).as_dict()
    assert usd["currency"] == "USD" and sum(b["closed"] for b in usd["bands"]) == 1
    refused: list[dict[str, Any]] = [
        {"edges": [5, 5]},
        {"edges": [10, 2]},
        {"edges": [0]},
        {"edges": []},
        {"dimension": "age"},
    ]
    for options in refused:
        with pytest.raises(SpecError) as caught:
            bands.compute(context, Spec(options=options))
        assert caught.value.code in ("bad_edges", "bad_dimension")
    with pytest.raises(SpecError, match="use --filter"):
        bands.compute(context, Spec(by=("segment",)))
    with pytest.raises(SpecError, match="whole numbers"):
        bands.parse_edges("1e6,2e6")
    assert bands.parse_edges("1_000_000, 5000000") == [1_000_000, 5_000_000]


def test_bands_of_an_empty_window(defaults, analytics):
    found = by_band(bands.compute(analytics(), Spec(**APRIL)))
    assert all(b["closed"] == 0 and b["win_rate"]["value"] is None for b in found.values())
    assert "(none)" not in found


# --- against a plain-Python computation on the demo company ---------------------------


def cycle_days(deal) -> float:
    return (deal.closed_at - deal.created_at).total_seconds() / 86400


def _local(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(ZoneInfo("Asia/Tokyo")).replace(tzinfo=None)


@pytest.fixture
def demo(defaults, analytics):
    from kyogyo.demo.build import build

    build(seed=3, people=600, end=dt.date(2026, 10, 31), driver="bulk")
    return analytics()


def test_deals_match_a_plain_python_computation_on_the_demo_company(demo):
    from kyogyo.deals.models import Deal

    start, end = dt.date(2025, 7, 1), dt.date(2026, 6, 30)
    data = deals.compute(demo, Spec(start=start, end=end, by=("segment",))).as_dict()
    all_deals = list(Deal.objects.select_related("account", "pipeline_stage", "loss_reason"))
    closed = [
        d
        for d in all_deals
        if d.status != "open" and d.closed_at and start <= _local(d.closed_at).date() <= end
    ]
    assert len(closed) >= 10

    def expected(group: list, open_deals: list) -> dict:
        won = [d for d in group if d.status == "won"]
        lost = [d for d in group if d.status == "lost"]
        cycles = [cycle_days(d) for d in won]
        amounts = [d.amount for d in won]
        return {
            "won": len(won),
            "lost": len(lost),
            "won_amount": sum(amounts),
            "average_deal_size": round(statistics.mean(amounts), 2) if amounts else None,
            "median_deal_size": round(statistics.median(amounts), 2) if amounts else None,
            "cycle": [
                round(v, 2) if v is not None else None
                for v in (
                    statistics.median(cycles) if cycles else None,
                    percentile(cycles, 0.8),
                    statistics.mean(cycles) if cycles else None,
                )
            ],
            "reasons": Counter(d.loss_reason.key if d.loss_reason else "(none)" for d in lost),
            "open": (
                len(open_deals),
                sum(d.amount for d in open_deals),
                round(sum(d.amount * d.effective_probability / 100 for d in open_deals), 2),
            ),
        }

    def actual(f: dict) -> dict:
        return {
            "won": f["won"],
            "lost": f["lost"],
            "won_amount": f["won_amount"],
            "average_deal_size": f["average_deal_size"],
            "median_deal_size": f["median_deal_size"],
            "cycle": [f["cycle_days"][k] for k in ("median", "p80", "mean")],
            "reasons": Counter({r["reason"]: r["count"] for r in f["loss_reasons"]}),
            "open": tuple(f["open_pipeline"][k] for k in ("count", "amount", "weighted_amount")),
        }

    open_deals = [d for d in all_deals if d.status == "open"]
    assert actual(data["totals"][0]) == expected(closed, open_deals)

    def segment(d) -> str:
        return d.account.segment or "(none)"

    slices = {s["key"]: s for s in data["slices"]}
    keys = {segment(d) for d in closed + open_deals}
    assert set(slices) == keys
    for key in keys:
        mine = [d for d in closed if segment(d) == key]
        assert actual(slices[key]) == expected(mine, [d for d in open_deals if segment(d) == key]), key


def test_bands_match_a_plain_python_computation_on_the_demo_company(demo):
    from kyogyo.deals.models import Deal

    settings = AnalyticsSettings.load()
    settings.small_denominator = 3
    settings.save()
    demo.settings = settings
    start, end = dt.date(2025, 1, 1), dt.date(2026, 10, 31)
    closed = [
        d
        for d in Deal.objects.select_related("account")
        if d.status != "open" and d.closed_at and start <= _local(d.closed_at).date() <= end
    ]
    for dimension, value, edges, labels in (
        (
            "deal_size",
            lambda d: d.amount,
            [1_000_000, 3_000_000],
            ["<1000000", "1000000–2999999", "3000000+"],
        ),
        ("company_size", lambda d: d.account.employee_count, [50, 300], ["<50", "50–299", "300+"]),
    ):
        found = by_band(
            bands.compute(demo, Spec(start=start, end=end, options={"dimension": dimension, "edges": edges}))
        )
        assert sum(b["closed"] for b in found.values()) == len(closed)
        assert all(b["closed"] for b in found.values()), dimension  # every band is exercised
        for low, high, label in zip([0, *edges], [*edges, 10**18], labels, strict=True):
            group = [d for d in closed if value(d) is not None and low <= value(d) < high]
            won = [d for d in group if d.status == "won"]
            cycles = [cycle_days(d) for d in won]
            band = found[label]
            assert (band["closed"], band["won"], band["won_amount"]) == (
                len(group),
                len(won),
                sum(d.amount for d in won),
            )
            assert band["median_cycle_days"] == (round(statistics.median(cycles), 2) if cycles else None)
            rate = len(won) / len(group) if group else None
            median = statistics.median(cycles) if cycles else None
            thresholds = bands.Thresholds(
                3, settings.inside_sales_max_cycle_days, settings.inside_sales_min_win_rate
            )
            assert band["recommendation"] == bands.recommend(len(group), rate, median, thresholds)[0]


def json_keys(value: Any, skip: tuple[str, ...] = ("keys",)) -> set[str]:
    """Every key of a JSON document (not the values of ``skip`` keys: dimension names)."""
    if isinstance(value, dict):
        found = set(value)
        for key, inner in value.items():
            if key not in skip:
                found |= json_keys(inner, skip)
        return found
    if isinstance(value, list):
        return set().union(*(json_keys(v, skip) for v in value)) if value else set()
    return set()


def undocumented(data: dict, doc: str) -> set[str]:
    text = (DOCS / doc).read_text()
    return {k for k in json_keys(data) if f'"{k}"' not in text and f"`{k}`" not in text}


def test_every_json_key_is_documented(april, analytics):
    context = analytics()
    data = deals.compute(context, Spec(by=("owner",), options={"target": 20_000_000}, **APRIL)).as_dict()
    assert undocumented(data, "deals-bands.md") == set()
    assert undocumented(bands.compute(context, Spec(**APRIL)).as_dict(), "deals-bands.md") == set()


# --- the command line --------------------------------------------------------------


def report(*args: str) -> str:
    out = io.StringIO()
    call_command("report", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_cli_deals_json_table_and_csv(april):
    data = json.loads(
        report("deals", "--format", "json", "--period", "2026-04", "--target", "20000000", "--by", "owner")
    )
    assert data["metric"] == "deals" and (data["from"], data["to"]) == ("2026-04-01", "2026-04-30")
    assert data["totals"][0]["win_rate"]["value"] == 0.6
    assert data["coverage"]["coverage"] == 0.25
    assert [s["key"] for s in data["slices"]] == ["fs_rep", "fs_rep2"]
    table = report("deals", "--period", "2026-04")
    assert table.splitlines()[0].split()[:4] == ["slice", "currency", "closed", "won"]
    csv_text = report("deals", "--period", "2026-04", "--format", "csv", "--currency", "JPY")
    assert csv_text.splitlines()[1].startswith("(all),JPY,5,3,2,1,0.6,12000000")


def test_cli_bands(april, two_needed):
    data = json.loads(
        report(
            "bands",
            "--format",
            "json",
            "--period",
            "2026-04",
            "--dimension",
            "deal_size",
            "--edges",
            "2000000,5000000",
        )
    )
    assert [b["recommendation"] for b in data["bands"]] == [
        "inside_sales",
        "insufficient_data",
        "field_sales",
    ]
    csv_text = report("bands", "--period", "2026-04", "--dimension", "company_size", "--format", "csv")
    assert csv_text.splitlines()[0].startswith("band,closed,won,win_rate")
    with pytest.raises(CommandError, match="bad_edges"):
        report("bands", "--edges", "5,1")
    with pytest.raises(CommandError, match="bad_target"):
        report("deals", "--target", "-5")
