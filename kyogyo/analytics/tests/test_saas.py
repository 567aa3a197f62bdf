"""SaaS metrics on subscriptions made through the actions (start_subscription, change_mrr,
churn) and read back through the snapshot: public worked examples with their published
results, hand-checkable movements and retention, edge cases, the command line, and the
demo company against a plain-Python computation from the ORM rows."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections import defaultdict
from itertools import count

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from kyogyo.analytics.metrics import saas
from kyogyo.analytics.models import AnalyticsSettings, Spend
from kyogyo.analytics.spec import Spec, SpecError
from kyogyo.customers.actions import create_account
from kyogyo.org.models import Team
from kyogyo.success.actions import change_mrr, churn, start_subscription
from kyogyo.success.models import Subscription, SubscriptionChange
from kyogyo.testing import T0, local

APRIL = {"start": dt.date(2026, 4, 1), "end": dt.date(2026, 4, 30)}
AS_OF = local(2026, 10, 1, 12, 0)
MARCH = dt.date(2026, 3, 2)

_numbers = count(1)


def company(segment: str = "smb", employees: int = 100, industry: str = "software"):
    n = next(_numbers)
    return create_account(
        at=T0 - dt.timedelta(days=400),
        name=f"Customer {n}",
        domain=f"customer{n}.example.jp",
        segment=segment,
        employee_count=employees,
        industry=industry,
        country="JP",
    )


def subscribe(mrr: int, on: dt.date = MARCH, account=None, currency: str = "JPY") -> Subscription:
    return start_subscription(account or company(), plan="Business", mrr=mrr, starts_on=on, currency=currency)


def spend(month: dt.date, team: str, amount: int, currency: str = "JPY") -> None:
    Spend.objects.create(month=month, team=Team.objects.get(key=team), amount=amount, currency=currency)


def set_gross_margin(percent: int) -> None:
    settings = AnalyticsSettings.load()
    settings.gross_margin_percent = percent
    settings.save()


def jpy(result, currency: str = "JPY") -> dict:
    return next(c for c in result.as_dict()["currencies"] if c["currency"] == currency)


def april(context, **kwargs) -> dict:
    """The April period row (a one-month window, so also the total)."""
    block = jpy(saas.compute(context, Spec(**APRIL, **kwargs)))
    assert len(block["periods"]) == 1
    return block["periods"][0]


def retention_case(start: int, expansion: int, contraction: int, churned: int) -> None:
    """Four customers paying ``start`` in all since March; in April one expands by
    ``expansion``, one contracts by ``contraction``, one churns (``churned`` MRR) and one
    stays; and a new customer (excluded from retention) joins."""
    grower = subscribe(expansion)
    shrinker = subscribe(2 * contraction)
    leaver = subscribe(churned)
    subscribe(start - expansion - 2 * contraction - churned)
    change_mrr(grower, 2 * expansion, on=dt.date(2026, 4, 5))
    change_mrr(shrinker, contraction, on=dt.date(2026, 4, 12))
    churn(leaver, on=dt.date(2026, 4, 20))
    subscribe(7_000, on=dt.date(2026, 4, 15))


# --- public worked examples --------------------------------------------------------------


# GRR = (start − contraction − churn) ÷ start, NRR = (start + expansion − contraction − churn)
# ÷ start, both on the customers active at the start (new customers excluded). Published:
# - the GRR/NRR example used by SaaS-metrics guides (the issue): start 100,000, expansion
#   10,000, contraction 2,000, churn 5,000 → GRR 93 %, NRR 103 %;
# - attive.ai glossary, "Net Revenue Retention": $100k start, +$15k expansion, −$5k
#   contraction, −$10k churn → NRR 100 %;
# - altiorco.com RevOps dictionary, "NRR": $1M start, $150k expansion, $80k churned, $20k
#   downgrades → NRR 105 %;
# - dnoise.online, "Net Revenue Retention": (200,000 − 6,000 − 4,000 + 20,000) ÷ 200,000 → 105 %.
@pytest.mark.parametrize(
    ("start", "expansion", "contraction", "churned", "grr", "nrr"),
    [
        (100_000, 10_000, 2_000, 5_000, 0.93, 1.03),
        (100_000, 15_000, 5_000, 10_000, 0.85, 1.00),
        (1_000_000, 150_000, 20_000, 80_000, 0.90, 1.05),
        (200_000, 20_000, 4_000, 6_000, 0.95, 1.05),
    ],
)
def test_grr_and_nrr_worked_examples(defaults, analytics, start, expansion, contraction, churned, grr, nrr):
    retention_case(start, expansion, contraction, churned)
    row = april(analytics(as_of=AS_OF))
    assert row["mrr_start"] == start
    assert row["retention"] == {
        "customers": 4,
        "mrr_start": start,
        "mrr_end": start + expansion - contraction - churned,
        "expansion": expansion,
        "contraction": contraction,
        "churn": churned,
        "churned_customers": 1,
    }
    assert row["grr"]["value"] == grr and row["grr"]["denominator"] == start
    assert row["nrr"]["value"] == nrr
    assert row["grr"]["small"] is True  # four customers at the start
    assert row["logo_churn"] == {"numerator": 1, "denominator": 4, "value": 0.25, "small": True}
    assert row["revenue_churn"]["value"] == round(1 - grr, 4)
    # the new customer is in the movements and the end MRR, not in retention
    assert row["movements"]["new"] == {"mrr": 7_000, "count": 1}
    assert row["mrr_end"] == start + expansion - contraction - churned + 7_000


# LTV = ARPA × gross margin ÷ churn rate, monthly (David Skok, "SaaS Metrics 2.0 – A Guide to
# Measuring and Improving what Matters", forEntrepreneurs.com). Published results:
# - the classic example (the issue): ARPA 100, GM 80 %, churn 2 % monthly → LTV 4,000;
# - abracalc.com, "Customer LTV: $100 ARPA, 80% Margin, 5% Churn" → $1,600;
# - metrickittools.com LTV calculator defaults: $200 ARPA, 80 %, 3 % monthly → $5,333.33.
@pytest.mark.parametrize(
    ("customers", "mrr", "leaving", "ltv"),
    [(50, 100, 1, 4_000.0), (20, 100, 1, 1_600.0), (100, 200, 3, 5_333.33)],
)
def test_ltv_worked_examples(defaults, analytics, customers, mrr, leaving, ltv):
    subscriptions = [subscribe(mrr) for _ in range(customers)]
    for subscription in subscriptions[:leaving]:
        churn(subscription, on=dt.date(2026, 4, 15))
    row = april(analytics(as_of=AS_OF))
    assert row["arpa"] == mrr
    assert row["revenue_churn"]["value"] == round(leaving / customers, 4)
    assert row["ltv"] == {
        "value": ltv,
        "arpa": float(mrr),
        "gross_margin": 0.8,
        "monthly_revenue_churn": round(leaving / customers, 6),
        "note": None,
    }
    # a quarter holding the same single month of churn: the monthly rate is a third
    quarter = jpy(
        saas.compute(
            analytics(as_of=AS_OF), Spec(start=dt.date(2026, 4, 1), end=dt.date(2026, 6, 30), grain="quarter")
        )
    )["periods"][0]
    assert quarter["months"] == 3.0
    assert quarter["ltv"]["value"] == pytest.approx(ltv * 3, abs=0.05)


# CAC payback (months) = CAC ÷ (ARPA × gross margin) (Skok, "SaaS Metrics 2.0": months to
# recover CAC). Published results:
# - calculatorlib.com CAC payback calculator: CAC 1,200, ARPU 100/month, GM 80 % → 15 months;
# - theprimecalculator.com: CAC $600, $100/month, 75 % → 8.0 months;
# - contextawareanalytics.com: CAC $3,000, $200/month, 80 % → 18.75 months.
@pytest.mark.parametrize(
    ("cac", "arpa", "margin", "months"),
    [(1_200, 100, 80, 15.0), (600, 100, 75, 8.0), (3_000, 200, 80, 18.75)],
)
def test_cac_payback_worked_examples(defaults, analytics, cac, arpa, margin, months):
    set_gross_margin(margin)
    subscribe(arpa, on=dt.date(2026, 4, 3))
    subscribe(arpa, on=dt.date(2026, 4, 20))
    # two new customers: sales and marketing spend 2 × CAC over three teams; customer
    # success spend is not acquisition and is left out
    spend(dt.date(2026, 4, 1), "marketing", cac)
    spend(dt.date(2026, 4, 1), "inside_sales", cac // 2)
    spend(dt.date(2026, 4, 1), "field_sales", cac - cac // 2)
    spend(dt.date(2026, 4, 1), "customer_success", 99_999)
    spend(dt.date(2026, 3, 1), "marketing", 50_000)  # another month
    row = april(analytics(as_of=AS_OF))
    assert (row["spend"], row["new_customers"], row["cac"]) == (2 * cac, 2, cac)
    assert row["cac_payback_months"] == months
    assert row["ltv"]["value"] is None and row["ltv_to_cac"] is None  # nobody churned
    assert row["ltv"]["note"] == "not computable: no MRR at the period start"


# Magic number = (this quarter's revenue − last quarter's) × 4 ÷ last quarter's sales and
# marketing spend (Scale Venture Partners). Published results:
# - xlslides.com, "SaaS Magic Number Calculator", worked example: $480,000 quarter-over-
#   quarter recurring revenue growth, $1,800,000 prior-quarter S&M spend → 1.07x;
# - outlier.ai, "Advanced KPIs: Software-as-a-Service – Magic Number": $10k S&M spend in
#   Q1, $5k incremental revenue in Q2 → 2.
# A quarter's recurring revenue here is the sum of its three month-end MRRs.
def test_magic_number_xlslides_example(defaults, analytics):
    base = subscribe(1_000_000, on=dt.date(2025, 12, 1))
    change_mrr(base, 1_160_000, on=dt.date(2026, 4, 1))  # each of the 3 months +160,000
    for month in (1, 2, 3):
        spend(dt.date(2026, month, 1), "marketing", 600_000)
    data = saas.compute(
        analytics(as_of=local(2026, 7, 15)),
        Spec(start=dt.date(2026, 4, 1), end=dt.date(2026, 6, 30), grain="quarter"),
    )
    block = jpy(data)
    magic = block["periods"][0]["magic_number"]
    assert magic == {
        "quarter": "FY2026-Q1",
        "revenue": 3_480_000,
        "previous_revenue": 3_000_000,
        "previous_spend": 1_800_000,
        "value": 1.0667,
    }
    assert round(magic["value"], 2) == 1.07
    assert block["total"]["magic_number"] == magic


def test_magic_number_outlier_example(defaults, analytics):
    base = subscribe(100_000, on=dt.date(2025, 12, 1))
    change_mrr(base, 101_000, on=dt.date(2026, 4, 10))  # counted at 3 month ends
    change_mrr(base, 102_000, on=dt.date(2026, 5, 10))  # at 2: 5,000 more revenue in all
    spend(dt.date(2026, 1, 1), "marketing", 4_000)
    spend(dt.date(2026, 2, 1), "inside_sales", 3_000)
    spend(dt.date(2026, 3, 1), "field_sales", 3_000)
    context = analytics(as_of=local(2026, 7, 15))
    # with monthly periods the totals carry the last complete quarter of the window
    block = jpy(saas.compute(context, Spec(start=dt.date(2026, 4, 1), end=dt.date(2026, 6, 30))))
    assert all(p["magic_number"] is None for p in block["periods"])
    magic = block["total"]["magic_number"]
    assert (magic["revenue"] - magic["previous_revenue"], magic["previous_spend"]) == (5_000, 10_000)
    assert magic["value"] == 2.0


def test_magic_number_waits_for_a_complete_quarter(defaults, analytics):
    subscribe(100_000, on=dt.date(2025, 12, 1))
    spend(dt.date(2026, 1, 1), "marketing", 4_000)
    context = analytics(as_of=local(2026, 6, 15))  # FY2026-Q1 not over yet
    block = jpy(
        saas.compute(context, Spec(start=dt.date(2026, 4, 1), end=dt.date(2026, 6, 30), grain="quarter"))
    )
    assert block["periods"][0]["magic_number"] is None and block["periods"][0]["complete"] is False
    assert block["total"]["magic_number"] is None


# --- hand-checkable movements ------------------------------------------------------------


def test_movements_reconcile_start_and_end_mrr(defaults, analytics):
    """March: A 10,000, B 20,000 and C 5,000 (C churns in March). April: A expands to 12,000,
    B contracts to 15,000 then churns, C comes back at 6,000 (reactivation), D is new at
    3,000 and a second subscription of A (4,000) is A's expansion, not a new customer."""
    a, b, c = subscribe(10_000), subscribe(20_000), subscribe(5_000)
    churn(c, on=dt.date(2026, 3, 20))
    change_mrr(a, 12_000, on=dt.date(2026, 4, 2))
    change_mrr(b, 15_000, on=dt.date(2026, 4, 3))
    churn(b, on=dt.date(2026, 4, 25))
    back = subscribe(6_000, on=dt.date(2026, 4, 10), account=c.account)
    assert SubscriptionChange.objects.get(subscription=back).kind == "reactivation"
    subscribe(3_000, on=dt.date(2026, 4, 11))
    subscribe(4_000, on=dt.date(2026, 4, 12), account=a.account)
    row = april(analytics(as_of=AS_OF))
    assert (row["mrr_start"], row["customers_start"]) == (30_000, 2)
    assert row["movements"] == {
        "new": {"mrr": 3_000, "count": 1},
        "expansion": {"mrr": 2_000 + 4_000, "count": 2},
        "contraction": {"mrr": 5_000, "count": 1},
        "churn": {"mrr": 15_000, "count": 1},
        "reactivation": {"mrr": 6_000, "count": 1},
    }
    assert row["net_new_mrr"] == 3_000 + 6_000 + 6_000 - 5_000 - 15_000
    assert row["mrr_end"] == row["mrr_start"] + row["net_new_mrr"] == 25_000
    assert (row["customers_end"], row["arr_end"]) == (3, 300_000)
    assert row["arpa"] == round(25_000 / 3, 2)
    # retention: A grew 10,000 → 16,000, B left with all it had at the start (20,000)
    assert row["retention"] == {
        "customers": 2,
        "mrr_start": 30_000,
        "mrr_end": 16_000,
        "expansion": 6_000,
        "contraction": 0,
        "churn": 20_000,
        "churned_customers": 1,
    }
    assert row["grr"]["value"] == round(10_000 / 30_000, 4)
    assert row["nrr"]["value"] == round(16_000 / 30_000, 4)
    assert row["new_customers"] == 1  # the reactivated company is not a new acquisition
    march = jpy(
        saas.compute(analytics(as_of=AS_OF), Spec(start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 31)))
    )
    assert march["periods"][0]["movements"]["new"] == {"mrr": 35_000, "count": 3}
    assert march["periods"][0]["movements"]["churn"] == {"mrr": 5_000, "count": 1}
    # C joined and left within March: it was never in March's start cohort
    assert march["periods"][0]["retention"]["customers"] == 0


def test_cancelling_one_of_two_subscriptions_is_contraction_not_a_lost_customer(defaults, analytics):
    first = subscribe(10_000)
    subscribe(5_000, account=first.account)
    churn(first, on=dt.date(2026, 4, 8))
    row = april(analytics(as_of=AS_OF))
    assert row["movements"]["contraction"] == {"mrr": 10_000, "count": 1}
    assert row["movements"]["churn"]["count"] == 0
    assert row["logo_churn"]["numerator"] == 0 and row["customers_end"] == 1
    assert row["grr"]["value"] == round(5_000 / 15_000, 4)


def test_expansion_then_churn_in_one_period_loses_only_the_start_mrr(defaults, analytics):
    leaver = subscribe(10_000)
    subscribe(10_000)
    change_mrr(leaver, 30_000, on=dt.date(2026, 4, 5))
    churn(leaver, on=dt.date(2026, 4, 25))
    row = april(analytics(as_of=AS_OF))
    assert row["movements"]["expansion"]["mrr"] == 20_000 and row["movements"]["churn"]["mrr"] == 30_000
    assert row["retention"]["churn"] == 10_000 and row["retention"]["expansion"] == 0
    assert row["grr"]["value"] == 0.5 and row["nrr"]["value"] == 0.5  # never below 0 or above 1


def test_monthly_periods_and_the_total(defaults, analytics):
    a = subscribe(10_000, on=dt.date(2026, 4, 10))
    change_mrr(a, 14_000, on=dt.date(2026, 5, 10))
    churn(a, on=dt.date(2026, 6, 10))
    block = jpy(
        saas.compute(analytics(as_of=AS_OF), Spec(start=dt.date(2026, 4, 1), end=dt.date(2026, 6, 30)))
    )
    assert [p["period"] for p in block["periods"]] == ["2026-04", "2026-05", "2026-06"]
    assert [(p["mrr_start"], p["mrr_end"]) for p in block["periods"]] == [
        (0, 10_000),
        (10_000, 14_000),
        (14_000, 0),
    ]
    assert [p["nrr"]["value"] for p in block["periods"]] == [None, 1.4, 0.0]
    total = block["total"]
    assert (total["period"], total["from"], total["to"], total["months"]) == (
        "total",
        "2026-04-01",
        "2026-06-30",
        3.0,
    )
    assert total["movements"]["new"]["count"] == 1 and total["movements"]["churn"]["mrr"] == 14_000
    assert total["grr"]["value"] is None  # no customer at the window's start


def test_fiscal_quarters_and_cut_periods(defaults, analytics):
    subscribe(10_000, on=dt.date(2026, 2, 1))
    block = jpy(
        saas.compute(
            analytics(as_of=AS_OF),
            Spec(start=dt.date(2026, 2, 15), end=dt.date(2026, 7, 31), grain="quarter"),
        )
    )
    assert [(p["period"], p["from"], p["to"], p["complete"]) for p in block["periods"]] == [
        ("FY2025-Q4", "2026-02-15", "2026-03-31", False),
        ("FY2026-Q1", "2026-04-01", "2026-06-30", True),
        ("FY2026-Q2", "2026-07-01", "2026-07-31", False),
    ]
    assert block["periods"][0]["months"] == pytest.approx(14 / 28 + 1, abs=1e-4)


def test_spend_of_a_cut_month_counts_pro_rata(defaults, analytics):
    subscribe(1_000, on=dt.date(2026, 4, 20))
    spend(dt.date(2026, 4, 1), "marketing", 30_000)
    row = jpy(
        saas.compute(analytics(as_of=AS_OF), Spec(start=dt.date(2026, 4, 16), end=dt.date(2026, 4, 30)))
    )
    assert row["periods"][0]["spend"] == 15_000 and row["periods"][0]["cac"] == 15_000


def test_spend_teams_option(defaults, analytics):
    subscribe(1_000, on=dt.date(2026, 4, 20))
    spend(dt.date(2026, 4, 1), "marketing", 1_000)
    spend(dt.date(2026, 4, 1), "customer_success", 500)
    row = april(analytics(as_of=AS_OF), options={"spend_teams": ["marketing", "customer_success"]})
    assert row["spend"] == 1_500


def test_money_is_kept_per_currency(defaults, analytics):
    subscribe(10_000)
    subscribe(100, currency="USD")
    both = subscribe(20_000)
    subscribe(50, account=both.account, currency="USD")
    spend(dt.date(2026, 4, 1), "marketing", 700, currency="USD")
    data = saas.compute(analytics(as_of=AS_OF), Spec(**APRIL)).as_dict()
    assert [c["currency"] for c in data["currencies"]] == ["JPY", "USD"]
    jpy_row, usd_row = (c["periods"][0] for c in data["currencies"])
    assert (jpy_row["mrr_start"], jpy_row["customers_start"], jpy_row["spend"]) == (30_000, 2, None)
    assert (usd_row["mrr_start"], usd_row["customers_start"], usd_row["spend"]) == (150, 2, 700)


def test_slices_by_segment_and_company_size_add_up(defaults, analytics):
    subscribe(10_000, account=company("smb", 20))
    leaving = subscribe(20_000, account=company("enterprise", 5_000))
    subscribe(30_000, account=company("enterprise", 2_000))
    churn(leaving, on=dt.date(2026, 4, 9))
    spend(dt.date(2026, 4, 1), "marketing", 1_000)
    data = saas.compute(analytics(as_of=AS_OF), Spec(**APRIL, by=("segment", "company_size"))).as_dict()
    block = data["currencies"][0]
    slices = {s["key"]: s["total"] for s in block["slices"]}
    assert set(slices) == {"enterprise / 1000+", "smb / <50"}
    assert slices["enterprise / 1000+"]["mrr_start"] == 50_000
    assert slices["enterprise / 1000+"]["grr"]["value"] == 0.6
    assert slices["enterprise / 1000+"]["spend"] is None and slices["enterprise / 1000+"]["cac"] is None
    assert block["total"]["mrr_start"] == 60_000 and block["total"]["spend"] == 1_000
    assert block["slices"][0]["keys"] == {"segment": "enterprise", "company_size": "1000+"}
    assert "slices carry no spend-based figures" in " ".join(data["notes"])


def test_a_filter_keeps_one_segment_and_drops_spend_figures(defaults, analytics):
    subscribe(10_000, account=company("smb"))
    subscribe(20_000, account=company("enterprise"))
    spend(dt.date(2026, 4, 1), "marketing", 1_000)
    data = saas.compute(analytics(as_of=AS_OF), Spec(**APRIL, filters={"segment": "smb"})).as_dict()
    row = data["currencies"][0]["periods"][0]
    assert row["mrr_start"] == 10_000 and row["customers_start"] == 1
    assert row["spend"] is None and row["cac"] is None and row["magic_number"] is None
    assert data["notes"]


def test_a_subscription_without_history_counts_from_its_dates(defaults, analytics):
    account = company()
    Subscription.objects.create(
        account=account,
        plan="Imported",
        mrr=8_000,
        starts_on=dt.date(2026, 3, 1),
        ends_on=dt.date(2026, 4, 10),
    )
    row = april(analytics(as_of=AS_OF))
    assert row["mrr_start"] == 8_000 and row["mrr_end"] == 0
    assert row["movements"]["churn"] == {"mrr": 8_000, "count": 1}


# --- edge cases ---------------------------------------------------------------------------


def test_an_empty_database_answers_with_no_currencies(defaults, analytics):
    data = saas.compute(analytics(as_of=AS_OF), Spec(**APRIL)).as_dict()
    assert data["currencies"] == [] and data["from"] == "2026-04-01"


def test_a_period_without_churn_or_customers_gives_no_rates(defaults, analytics):
    subscribe(10_000)
    row = april(analytics(as_of=AS_OF))
    assert row["grr"]["value"] == 1.0 and row["revenue_churn"]["value"] == 0.0
    assert (
        row["ltv"]["value"] is None and row["ltv"]["note"] == "not computable: no revenue churn in the period"
    )
    empty = jpy(
        saas.compute(analytics(as_of=AS_OF), Spec(start=dt.date(2025, 1, 1), end=dt.date(2025, 1, 31)))
    )["periods"][0]
    assert (empty["mrr_start"], empty["mrr_end"], empty["arpa"]) == (0, 0, None)
    assert empty["grr"]["value"] is None and empty["logo_churn"]["value"] is None
    assert empty["ltv"]["note"] == "not computable: no MRR at the period start"


def test_everyone_churning_gives_zero_retention_and_no_arpa(defaults, analytics):
    churn(subscribe(10_000), on=dt.date(2026, 4, 1))
    row = april(analytics(as_of=AS_OF))
    assert row["grr"]["value"] == 0.0 and row["logo_churn"]["value"] == 1.0
    assert row["arpa"] is None and row["ltv"]["note"] == "not computable: no customers at the period end"


def test_the_default_window_is_the_last_twelve_months(defaults, analytics):
    subscribe(10_000)
    data = saas.compute(analytics(as_of=AS_OF), Spec()).as_dict()
    periods = data["currencies"][0]["periods"]
    assert (data["from"], data["to"]) == ("2025-11-01", "2026-10-01")
    assert len(periods) == 12 and periods[-1]["complete"] is False
    quarters = saas.compute(analytics(as_of=AS_OF), Spec(grain="quarter")).as_dict()
    assert [p["period"] for p in quarters["currencies"][0]["periods"]] == [
        "FY2025-Q4",
        "FY2026-Q1",
        "FY2026-Q2",
        "FY2026-Q3",
    ]


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"grain": "week"}, "bad_grain"),
        ({"by": ("source",)}, "unknown_dimension"),
        ({"filters": {"owner": "x"}}, "unknown_dimension"),
        ({"options": {"spend_teams": ["marketing", "sales_magic"]}}, "unknown_team"),
        ({"start": dt.date(2027, 1, 1)}, "bad_window"),
        ({"start": dt.date(1900, 1, 1), "end": dt.date(2026, 1, 1)}, "too_many_periods"),
    ],
)
def test_bad_input_is_refused_by_name(defaults, analytics, kwargs, code):
    with pytest.raises(SpecError) as caught:
        saas.compute(analytics(as_of=AS_OF), Spec(**kwargs))
    assert caught.value.code == code


# --- the command line ---------------------------------------------------------------------


def report(*args: str) -> str:
    out = io.StringIO()
    call_command("report", "saas", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_cli_json_table_and_csv(defaults):
    retention_case(100_000, 10_000, 2_000, 5_000)
    spend(dt.date(2026, 4, 1), "marketing", 3_000)
    data = json.loads(
        report(
            "--format", "json", "--period", "2026-04", "--as-of", "2026-10-01", "--spend-teams", "marketing"
        )
    )
    assert data["metric"] == "saas" and data["grain"] == "month" and data["spend_teams"] == ["marketing"]
    row = data["currencies"][0]["periods"][0]
    assert (row["grr"]["value"], row["nrr"]["value"], row["cac"]) == (0.93, 1.03, 3_000)
    assert set(data) == {
        "metric",
        "from",
        "to",
        "by",
        "filters",
        "grain",
        "as_of",
        "gross_margin_percent",
        "spend_teams",
        "currencies",
        "notes",
        "snapshot",
    }
    table = report("--period", "2026-04", "--as-of", "2026-10-01")
    assert table.splitlines()[0].split()[:4] == ["currency", "slice", "period", "mrr_start"]
    assert "0.93" in table
    csv_text = report("--period", "2026-04", "--as-of", "2026-10-01", "--format", "csv", "--by", "segment")
    assert csv_text.splitlines()[1].startswith("JPY,(all),2026-04,100000,110000,")
    assert any(line.startswith("JPY,smb,total,") for line in csv_text.splitlines())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--grain", "week"], "bad_grain"),
        (["--spend-teams", "nope"], "unknown_team: unknown team(s) for spend: nope"),
        (["--by", "owner"], "unknown_dimension"),
    ],
)
def test_cli_refuses_bad_input(defaults, args, message):
    with pytest.raises(CommandError) as caught:
        report(*args)
    assert str(caught.value).startswith(message)


# --- the demo company against plain Python ----------------------------------------------


def plain_python_saas(periods: list[tuple[dt.date, dt.date]]) -> dict[tuple[str, int], dict]:
    """MRR, movements and retention per currency and period, straight from the ORM rows,
    following the written definitions (no SQL, no DuckDB)."""
    subscriptions = {s.pk: s for s in Subscription.objects.all()}
    history: dict[int, list[tuple[dt.date, int, int]]] = defaultdict(list)
    for c in SubscriptionChange.objects.all():
        history[c.subscription_id].append((c.occurred_on, c.pk, c.mrr_after))

    def sub_mrr(subscription_id: int, day: dt.date) -> int:
        known = [(on, pk, mrr) for on, pk, mrr in history[subscription_id] if on <= day]
        return max(known)[2] if known else 0

    units: dict[tuple[int, str], list[int]] = defaultdict(list)
    for subscription in subscriptions.values():
        units[(subscription.account_id, subscription.currency)].append(subscription.pk)

    def level(unit: tuple[int, str], day: dt.date) -> int:
        return sum(sub_mrr(pk, day) for pk in units[unit])

    # movements: per account and day it changed, its MRR before and after that day
    movements: list[tuple[tuple[int, str], dt.date, str, int]] = []
    for unit, pks in units.items():
        days = sorted({on for pk in pks for on, _, _ in history[pk]})
        paid_before = False
        for day in days:
            before, after = level(unit, day - dt.timedelta(days=1)), level(unit, day)
            if after != before:
                if before == 0:
                    kind = "reactivation" if paid_before else "new"
                elif after == 0:
                    kind = "churn"
                else:
                    kind = "expansion" if after > before else "contraction"
                movements.append((unit, day, kind, abs(after - before)))
            paid_before = paid_before or after > 0
    found: dict[tuple[str, int], dict] = {}
    for index, (start, end) in enumerate(periods):
        for unit in units:
            s, e = level(unit, start - dt.timedelta(days=1)), level(unit, end)
            row = found.setdefault(
                (unit[1], index),
                {
                    "mrr_start": 0,
                    "mrr_end": 0,
                    "customers_start": 0,
                    "customers_end": 0,
                    "movements": {k: {"mrr": 0, "count": 0} for k in saas.KINDS},
                    "retention": dict.fromkeys(
                        (
                            "customers",
                            "mrr_start",
                            "mrr_end",
                            "expansion",
                            "contraction",
                            "churn",
                            "churned_customers",
                        ),
                        0,
                    ),
                },
            )
            row["mrr_start"] += s
            row["mrr_end"] += e
            row["customers_start"] += s > 0
            row["customers_end"] += e > 0
            if s > 0:
                kept = row["retention"]
                kept["customers"] += 1
                kept["mrr_start"] += s
                kept["mrr_end"] += e
                kept["expansion"] += max(e - s, 0)
                kept["contraction"] += s - e if 0 < e < s else 0
                kept["churn"] += s if e == 0 else 0
                kept["churned_customers"] += e == 0
        for unit, day, kind, amount in movements:
            if start <= day <= end:
                moved = found[(unit[1], index)]["movements"][kind]
                moved["mrr"] += amount
                moved["count"] += 1
    return found


def test_matches_a_plain_python_computation_on_the_demo_company(defaults, analytics):
    from kyogyo.demo.build import build

    build(seed=3, people=600, end=dt.date(2026, 10, 31), driver="bulk")
    assert SubscriptionChange.objects.filter(kind="churn").exists()
    context = analytics(as_of=local(2026, 10, 31, 12, 0))
    start, end = dt.date(2025, 5, 1), dt.date(2026, 10, 31)
    spec = Spec(start=start, end=end)
    block = jpy(saas.compute(context, spec))
    bounds = [(dt.date.fromisoformat(p["from"]), dt.date.fromisoformat(p["to"])) for p in block["periods"]]
    expected = plain_python_saas([*bounds, (start, end)])
    checked = 0
    for index, row in enumerate([*block["periods"], block["total"]]):
        want = expected[("JPY", index)]
        got = {key: row[key] for key in want}
        assert got == want, row["period"]
        assert row["mrr_end"] == row["mrr_start"] + row["net_new_mrr"], row["period"]
        checked += want["customers_start"]
    assert checked > 50
    assert block["total"]["movements"]["churn"]["count"] > 0
