"""NPS and the customer health score on answers, activities and subscriptions made
through the actions and read back through the snapshot: published NPS examples,
hand-checkable health scores (every signal's points worked out below), the trend, the
configuration refused by name, edge cases, the command line, and the demo company
against plain-Python computations from the ORM rows."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections import Counter, defaultdict

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from kyogyo.analytics.metrics import health, nps
from kyogyo.analytics.spec import Spec, SpecError
from kyogyo.marketing.actions import record_activity
from kyogyo.success.actions import change_mrr, churn, record_nps, start_subscription
from kyogyo.testing import TOKYO, local

APRIL = {"start": dt.date(2026, 4, 1), "end": dt.date(2026, 4, 30)}


def at(month: int, day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, tzinfo=TOKYO)


def answers(contact, promoters: int, passives: int, detractors: int, when: dt.datetime) -> None:
    """Scores spread over each category's range (9–10, 7–8, 0–6)."""
    scores = [9 + i % 2 for i in range(promoters)] + [7 + i % 2 for i in range(passives)]
    scores += [i % 7 for i in range(detractors)]
    for i, score in enumerate(scores):
        record_nps(contact, score, at=when + dt.timedelta(minutes=i))


# --- NPS ----------------------------------------------------------------------------------


# NPS = % promoters (9–10) − % detractors (0–6). Published results:
# - DELA annual report 2018, glossary "Net Promotor Score": 30 % promoters, 20 % detractors
#   → NPS +10;
# - theprimecalculator.com NPS calculator, worked example: 100 responses, 60 promoters, 25
#   passives, 15 detractors → NPS 45.
@pytest.mark.parametrize(
    ("promoters", "passives", "detractors", "score"), [(3, 5, 2, 10.0), (60, 25, 15, 45.0)]
)
def test_nps_published_examples(make_contact, analytics, promoters, passives, detractors, score):
    answers(make_contact(), promoters, passives, detractors, at(4, 3))
    data = nps.compute(analytics(), Spec(**APRIL)).as_dict()
    responses = promoters + passives + detractors
    assert data["total"]["nps"] == score
    assert (data["total"]["responses"], data["total"]["promoters"], data["total"]["passives"]) == (
        responses,
        promoters,
        passives,
    )
    assert data["total"]["promoter_share"]["value"] == round(promoters / responses, 4)
    assert data["total"]["detractor_share"]["denominator"] == responses
    assert data["total"]["small"] is (responses < 30)


def test_nps_category_boundaries_and_periods(make_contact, analytics):
    """April: 6 (detractor), 7 and 8 (passives), 9 (promoter) → (1 − 1) ÷ 4 = 0. May: 10 and
    9 → 100. June: nothing. A May answer after the window is left out."""
    person = make_contact()
    for score, when in ((6, at(4, 2)), (7, at(4, 9)), (8, at(4, 20)), (9, at(4, 30, 23))):
        record_nps(person, score, at=when)
    record_nps(person, 10, at=at(5, 1, 0))
    record_nps(person, 9, at=at(5, 31))
    record_nps(person, 0, at=at(7, 1))
    data = nps.compute(analytics(), Spec(start=dt.date(2026, 4, 1), end=dt.date(2026, 6, 30))).as_dict()
    periods = {p["period"]: p for p in data["periods"]}
    assert list(periods) == ["2026-04", "2026-05", "2026-06"]
    assert (
        periods["2026-04"]["promoters"],
        periods["2026-04"]["passives"],
        periods["2026-04"]["detractors"],
    ) == (
        1,
        2,
        1,
    )
    assert periods["2026-04"]["nps"] == 0.0 and periods["2026-05"]["nps"] == 100.0
    assert periods["2026-06"]["responses"] == 0 and periods["2026-06"]["nps"] is None
    assert periods["2026-06"]["promoter_share"]["value"] is None
    assert data["total"]["responses"] == 6 and data["total"]["nps"] == round((3 - 1) / 6 * 100, 1)
    quarter = nps.compute(
        analytics(), Spec(start=dt.date(2026, 4, 1), end=dt.date(2026, 6, 30), grain="quarter")
    ).as_dict()
    assert [(p["period"], p["responses"]) for p in quarter["periods"]] == [("FY2026-Q1", 6)]
    weeks = nps.compute(analytics(), Spec(start=dt.date(2026, 4, 1), end=dt.date(2026, 4, 12), grain="week"))
    assert [(p["period"], p["from"], p["responses"]) for p in weeks.as_dict()["periods"]] == [
        ("2026-W14", "2026-04-01", 1),
        ("2026-W15", "2026-04-06", 1),
    ]


def test_nps_extremes_and_an_empty_window(make_contact, analytics):
    answers(make_contact(), 0, 0, 3, at(4, 3))
    assert nps.compute(analytics(), Spec(**APRIL)).as_dict()["total"]["nps"] == -100.0
    answers(make_contact(), 0, 0, 0, at(4, 3))
    empty = nps.compute(analytics(), Spec(start=dt.date(2025, 1, 1), end=dt.date(2025, 1, 31))).as_dict()
    assert empty["total"]["responses"] == 0 and empty["total"]["nps"] is None
    assert [p["responses"] for p in empty["periods"]] == [0]


def test_nps_without_a_window_runs_from_the_first_answer_to_the_as_of_date(make_contact, analytics):
    record_nps(make_contact(), 10, at=at(5, 10))
    data = nps.compute(analytics(as_of=local(2026, 7, 2)), Spec()).as_dict()
    assert (data["from"], data["to"]) == ("2026-05-01", "2026-07-02")  # the first answer's month
    assert [p["period"] for p in data["periods"]] == ["2026-05", "2026-06", "2026-07"]
    assert data["total"]["nps"] == 100.0


def test_an_empty_database_has_no_periods(defaults, analytics):
    data = nps.compute(analytics(), Spec()).as_dict()
    assert data["periods"] == [] and data["from"] is None and data["total"]["nps"] is None


def test_nps_slices_by_the_account_and_the_person(make_contact, analytics):
    smb, enterprise = make_contact(source="web"), make_contact(source="event")
    loner = make_contact(account=False, source="web")
    smb.account.segment, enterprise.account.segment = "smb", "enterprise"
    smb.account.save(), enterprise.account.save()
    answers(smb, 2, 0, 1, at(4, 3))
    answers(enterprise, 0, 1, 1, at(4, 4))
    record_nps(loner, 10, at=at(4, 5))
    data = nps.compute(analytics(), Spec(**APRIL, by=("segment",))).as_dict()
    by_segment = {s["key"]: s["total"] for s in data["slices"]}
    assert set(by_segment) == {"smb", "enterprise", "(none)"}
    assert by_segment["smb"]["nps"] == round(100 / 3, 1)
    assert by_segment["enterprise"]["nps"] == -50.0
    assert by_segment["(none)"]["responses"] == 1
    assert data["total"]["responses"] == 6
    by_source = {
        s["key"]: s["total"]["responses"]
        for s in nps.compute(analytics(), Spec(by=("source",))).as_dict()["slices"]
    }
    assert by_source == {"web": 4, "event": 2}
    one = nps.compute(analytics(), Spec(**APRIL, filters={"segment": "enterprise"})).as_dict()
    assert one["total"]["responses"] == 2 and one["total"]["small"] is True


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"by": ("shoe_size",)}, "unknown_dimension"),
        ({"filters": {"campaign": "x"}}, "unknown_dimension"),
        ({"start": dt.date(2030, 1, 1), "end": None}, "bad_window"),
    ],
)
def test_nps_bad_input_is_refused(defaults, analytics, kwargs, code):
    with pytest.raises(SpecError) as caught:
        nps.compute(analytics(as_of=local(2026, 7, 1)), Spec(**kwargs))
    assert caught.value.code == code


def test_nps_matches_plain_python_on_the_demo_company(defaults, analytics):
    from kyogyo.demo.build import build
    from kyogyo.success.models import NpsResponse

    build(seed=3, people=600, end=dt.date(2026, 10, 31), driver="bulk")
    data = nps.compute(
        analytics(), Spec(by=("segment",), start=dt.date(2025, 1, 1), end=dt.date(2026, 10, 31))
    )
    expected: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for response in NpsResponse.objects.select_related("account", "contact__account"):
        company = response.account or response.contact.account
        segment = (company.segment if company else "") or "(none)"
        month = response.answered_at.astimezone(TOKYO).strftime("%Y-%m")
        category = "promoters" if response.score >= 9 else "passives" if response.score >= 7 else "detractors"
        expected[(segment, month)][category] += 1
    assert sum(sum(c.values()) for c in expected.values()) >= 10
    found = {}
    for s in data.as_dict()["slices"]:
        for p in s["periods"]:
            if p["responses"]:
                found[(s["key"], p["period"])] = Counter(
                    {k: p[k] for k in ("promoters", "passives", "detractors") if p[k]}
                )
                total = p["promoters"] + p["passives"] + p["detractors"]
                assert p["nps"] == round((p["promoters"] - p["detractors"]) / total * 100, 1)
    assert found == dict(expected)


# --- health -------------------------------------------------------------------------------

JUNE_END = local(2026, 6, 30, 18, 0)  # D = 30 June: the 30 days are 1–30 June


def activity(contact, kind: str, when: dt.datetime) -> None:
    record_activity(contact, kind, when)


@pytest.fixture
def customers(make_contact):
    """A: 10,000 since January, contracted to 8,000 on 15 May (−20 % over 90 days: 0.5);
    10 product_usage on 5 June days (10 ÷ 20 = 0.5); 1 support ticket (1 ÷ 2 = 0.5); NPS 9
    on 12 June (9 ÷ 9 = 1; an NPS 0 after the as-of time is ignored); active days: 5 usage
    days + the ticket + the NPS answer = 7 (≥ 4: 1). Score 20 + 20 + 7.5 + 15 + 5 = 67.5.
    On 31 May (30 days before): NPS 4 on 20 May (0.4444), no usage, no ticket (1), one active
    day (0.25), still −20 % (0.5): 8.8889 + 15 + 3.75 + 5 = 32.6389.
    B: new on 10 June at 5,000 (growth: 1), no usage, no NPS (left out: weights total 80),
    1 ticket on 20 June (0.5), 1 active day (0.25): (7.5 + 3.75 + 10) ÷ 80 × 100 = 26.5625.
    C: churned on 15 June: not a customer. D: 25 usage on 5 days, NPS 10, expanded:
    every signal full, 100."""
    a, b, c, d = make_contact(), make_contact(), make_contact(), make_contact()
    sub_a = start_subscription(a.account, plan="P", mrr=10_000, starts_on=dt.date(2026, 1, 5))
    change_mrr(sub_a, 8_000, on=dt.date(2026, 5, 15))
    for day in (2, 3, 4, 5, 8):
        activity(a, "product_usage", at(6, day, 9))
        activity(a, "product_usage", at(6, day, 15))
    activity(a, "support_ticket", at(6, 10))
    record_nps(a, 4, at=at(5, 20))
    record_nps(a, 9, at=at(6, 12))
    record_nps(a, 0, at=at(6, 30, 20))  # after the as-of time (18:00)
    start_subscription(b.account, plan="P", mrr=5_000, starts_on=dt.date(2026, 6, 10))
    activity(b, "support_ticket", at(6, 20))
    sub_c = start_subscription(c.account, plan="P", mrr=3_000, starts_on=dt.date(2026, 1, 5))
    churn(sub_c, on=dt.date(2026, 6, 15))
    sub_d = start_subscription(d.account, plan="P", mrr=20_000, starts_on=dt.date(2026, 1, 5))
    change_mrr(sub_d, 30_000, on=dt.date(2026, 6, 1))
    for day in (15, 16, 17, 18, 19):
        for hour in range(9, 14):
            activity(d, "product_usage", at(6, day, hour))
    record_nps(d, 10, at=at(6, 19, 18))
    return a, b, c, d


def by_account(data: dict) -> dict[int, dict]:
    return {row["account_id"]: row for row in data["accounts"]}


def test_health_scores_are_explained_signal_by_signal(customers, analytics):
    a, b, _, d = customers
    data = health.compute(analytics(as_of=JUNE_END), Spec()).as_dict()
    rows = by_account(data)
    assert list(rows) == [b.account_id, a.account_id, d.account_id]  # worst first
    first = rows[a.account_id]
    assert (first["score"], first["band"]) == (67.5, "watch")
    signals = {s["key"]: s for s in first["signals"]}
    assert {k: (s["value"], s["score"], s["points"]) for k, s in signals.items() if k != "mrr_trend"} == {
        "usage": (10, 0.5, 20.0),
        "nps": (9, 1.0, 20.0),
        "support": (1, 0.5, 7.5),
        "engagement": (8, 1.0, 15.0),
    }
    assert signals["mrr_trend"]["value"] == {
        "currency": "JPY",
        "mrr": 8_000,
        "mrr_90_days_before": 10_000,
        "change": -0.2,
        "trend": "contraction",
    }
    assert (signals["mrr_trend"]["score"], signals["mrr_trend"]["points"]) == (0.5, 5.0)
    assert first["score_30_days_before"] == 32.6 and first["trend"] == 34.9
    second = rows[b.account_id]
    assert (second["score"], second["band"]) == (26.6, "at_risk")
    b_signals = {s["key"]: s for s in second["signals"]}
    assert b_signals["nps"]["value"] is None and b_signals["nps"]["points"] is None
    assert b_signals["usage"]["max_points"] == 50.0  # 40 of the 80 weights with data
    assert b_signals["mrr_trend"]["value"]["trend"] == "growth"
    assert second["score_30_days_before"] is None and second["trend"] is None  # not yet a customer
    assert rows[d.account_id]["score"] == 100.0 and rows[d.account_id]["band"] == "healthy"
    assert data["customers"] == 3 and data["average_score"] == round((67.5 + 26.5625 + 100) / 3, 1)
    assert data["bands"]["healthy"] == {"numerator": 1, "denominator": 3, "value": 0.3333, "small": True}
    assert data["bands"]["at_risk"]["numerator"] == 1 and data["bands"]["no_data"]["numerator"] == 0


def test_health_limit_and_one_account(customers, analytics):
    a, b, c, _ = customers
    context = analytics(as_of=JUNE_END)
    limited = health.compute(context, Spec(options={"limit": 2})).as_dict()
    assert [r["account_id"] for r in limited["accounts"]] == [b.account_id, a.account_id]
    assert limited["customers"] == 3  # the distribution covers everyone
    one = health.compute(context, Spec(options={"account": a.account_id})).as_dict()
    assert [r["account_id"] for r in one["accounts"]] == [a.account_id] and one["account"] == a.account_id
    with pytest.raises(SpecError) as caught:
        health.compute(context, Spec(options={"account": c.account_id}))
    assert caught.value.code == "not_a_customer"
    with pytest.raises(SpecError) as caught:
        health.compute(context, Spec(options={"account": 999_999}))
    assert caught.value.code == "unknown_account"
    # before its churn, C was a customer
    earlier = health.compute(analytics(as_of=local(2026, 6, 14)), Spec(options={"account": c.account_id}))
    assert earlier.as_dict()["accounts"][0]["account_id"] == c.account_id


def test_health_with_signals_of_your_own(customers, analytics):
    a, *_ = customers
    context = analytics(as_of=JUNE_END)
    own = [{"key": "usage", "weight": 3, "target": 10}, {"key": "mrr_trend", "weight": 1, "target": 25}]
    row = by_account(health.compute(context, Spec(options={"signals": own})).as_dict())[a.account_id]
    # usage 10 ÷ 10 = 1; a 20 % fall is within the 25 % tolerance: flat = 1
    assert row["score"] == 100.0
    assert [s["key"] for s in row["signals"]] == ["usage", "mrr_trend"]
    assert row["signals"][1]["value"]["trend"] == "flat"


def test_health_slices_and_filters(customers, analytics):
    a, b, _, d = customers
    a.account.segment, b.account.segment, d.account.segment = "smb", "smb", "enterprise"
    for contact in (a, b, d):
        contact.account.save()
    context = analytics(as_of=JUNE_END)
    data = health.compute(context, Spec(by=("segment",))).as_dict()
    slices = {s["key"]: s for s in data["slices"]}
    assert slices["smb"]["customers"] == 2 and slices["enterprise"]["average_score"] == 100.0
    smb = health.compute(context, Spec(filters={"segment": "smb"})).as_dict()
    assert [r["account_id"] for r in smb["accounts"]] == [b.account_id, a.account_id]


def test_health_with_no_customers(defaults, analytics):
    data = health.compute(analytics(as_of=JUNE_END), Spec()).as_dict()
    assert data["customers"] == 0 and data["accounts"] == [] and data["average_score"] is None
    assert data["bands"]["healthy"]["value"] is None


def test_a_score_without_any_signal_data_is_no_data(customers, analytics):
    b = customers[1]
    only_nps = [{"key": "nps", "weight": 1, "target": 9}]
    row = by_account(health.compute(analytics(as_of=JUNE_END), Spec(options={"signals": only_nps})).as_dict())
    assert row[b.account_id]["score"] is None and row[b.account_id]["band"] == "no_data"
    assert list(row)[-1] == b.account_id  # no data: listed after the scored ones


@pytest.mark.parametrize(
    ("signals", "code"),
    [
        ([{"key": "happiness", "weight": 1, "target": 1}], "unknown_signal"),
        ([{"key": "usage", "weight": 1, "target": 0}], "bad_signals"),
        ([{"key": "usage", "weight": -1, "target": 5}], "bad_signals"),
        ([{"key": "usage", "weight": True, "target": 5}], "bad_signals"),
        ([{"key": "usage", "weight": 0, "target": 5}], "bad_signals"),
        (
            [{"key": "usage", "weight": 1, "target": 5}, {"key": "usage", "weight": 1, "target": 5}],
            "bad_signals",
        ),
        ([{"weight": 1}], "bad_signals"),
        ({"usage": 1}, "bad_signals"),
    ],
)
def test_bad_signal_configuration_is_refused_by_name(defaults, analytics, signals, code):
    with pytest.raises(SpecError) as caught:
        health.compute(analytics(as_of=JUNE_END), Spec(options={"signals": signals}))
    assert caught.value.code == code


def test_unknown_signal_in_the_settings_is_refused(defaults, analytics):
    from kyogyo.analytics.models import AnalyticsSettings

    settings = AnalyticsSettings.load()
    settings.health_signals = [*settings.health_signals, {"key": "vibes", "weight": 5, "target": 1}]
    settings.save()
    with pytest.raises(SpecError, match="unknown health signal 'vibes'"):
        health.compute(analytics(as_of=JUNE_END), Spec())


@pytest.mark.parametrize(
    ("options", "code"), [({"limit": 0}, "bad_limit"), ({"account": "x"}, "bad_account")]
)
def test_bad_limit_and_account_are_refused(defaults, analytics, options, code):
    with pytest.raises(SpecError) as caught:
        health.compute(analytics(as_of=JUNE_END), Spec(options=options))
    assert caught.value.code == code


def test_health_matches_plain_python_on_the_demo_company(defaults, analytics):
    """Every customer's score (and 30-day-earlier score) on the demo company, against a
    computation straight from the subscriptions, changes, activities and answers."""
    from kyogyo.demo.build import build

    build(seed=3, people=600, end=dt.date(2026, 10, 31), driver="bulk")
    as_of = local(2026, 10, 20, 12, 0)
    data = health.compute(analytics(as_of=as_of), Spec(options={"limit": 100_000})).as_dict()
    expected = plain_python_health(as_of)
    before = plain_python_health(as_of - dt.timedelta(days=30))
    assert len(expected) >= 5 and data["customers"] == len(expected)
    # shown to one decimal: equal within the rounding (50.75 may print either way)
    scores = {row["account_id"]: row["score"] for row in data["accounts"]}
    assert scores == {k: pytest.approx(v, abs=0.0501) for k, v in expected.items()}
    earlier = {row["account_id"]: row["score_30_days_before"] for row in data["accounts"]}
    assert {k for k, v in earlier.items() if v is not None} == set(before) & set(expected)
    assert {k: v for k, v in earlier.items() if v is not None} == {
        k: pytest.approx(before[k], abs=0.0501) for k in set(before) & set(expected)
    }
    assert len(set(before) & set(expected)) >= 3


def plain_python_health(as_of: dt.datetime) -> dict[int, float]:
    """The default signals (usage 40/20, nps 20/9, support 15/0, engagement 15/4,
    mrr_trend 10/0), from the ORM rows."""
    from kyogyo.marketing.models import Activity
    from kyogyo.success.models import NpsResponse, Subscription, SubscriptionChange

    day = as_of.date()
    moment = as_of.replace(tzinfo=TOKYO)
    subscriptions = list(Subscription.objects.all())
    customers = {
        s.account_id for s in subscriptions if s.starts_on <= day and (s.ends_on is None or s.ends_on > day)
    }
    usage: Counter = Counter()
    support: Counter = Counter()
    days: dict[int, set] = defaultdict(set)
    for act in Activity.objects.select_related("contact"):
        local_day = act.occurred_at.astimezone(TOKYO).date()
        account = act.contact.account_id
        if account in customers and day - dt.timedelta(days=30) < local_day <= day:
            usage[account] += act.type == "product_usage"
            support[account] += act.type == "support_ticket"
            days[account].add(local_day)
    latest: dict[int | None, tuple] = {}
    for r in NpsResponse.objects.select_related("contact"):
        account = r.account_id or r.contact.account_id
        if r.answered_at <= moment and (account not in latest or r.answered_at > latest[account][0]):
            latest[account] = (r.answered_at, r.score)
    changes = defaultdict(list)
    for c in SubscriptionChange.objects.all():
        changes[c.subscription_id].append((c.occurred_on, c.pk, c.mrr_after))

    def mrr(account: int, on: dt.date) -> int:
        total = 0
        for s in subscriptions:
            if s.account_id == account:
                known = [x for x in changes[s.pk] if x[0] <= on]
                total += max(known)[2] if known else 0
        return total

    scores = {}
    for account in customers:
        now, then = mrr(account, day), mrr(account, day - dt.timedelta(days=90))
        trend = 0.0 if then and not now else 0.5 if then and now < then else 1.0
        parts = [
            (40, min(1, usage[account] / 20)),
            (15, min(1, 1 / (support[account] + 1))),
            (15, min(1, len(days[account]) / 4)),
            (10, trend),
        ]
        if account in latest:
            parts.append((20, min(1, latest[account][1] / 9)))
        scores[account] = sum(w * s for w, s in parts) / sum(w for w, _ in parts) * 100
    return scores


# --- the command line ---------------------------------------------------------------------


def report(*args: str) -> str:
    out = io.StringIO()
    call_command("report", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_cli_nps_json_and_table(make_contact):
    answers(make_contact(), 3, 5, 2, at(4, 3))
    data = json.loads(report("nps", "--format", "json", "--period", "2026-04"))
    assert data["metric"] == "nps" and data["total"]["nps"] == 10.0
    assert [p["period"] for p in data["periods"]] == ["2026-04"]
    table = report("nps", "--period", "2026-04", "--by", "segment")
    assert table.splitlines()[0].split() == [
        "slice",
        "period",
        "responses",
        "promoters",
        "passives",
        "detractors",
        "nps",
        "small",
    ]


def test_cli_health_json_table_and_options(customers):
    a, b, c, _ = customers
    data = json.loads(report("health", "--format", "json", "--as-of", "2026-06-30", "--limit", "1"))
    assert data["metric"] == "health" and data["limit"] == 1
    assert [r["account_id"] for r in data["accounts"]] == [b.account_id]
    assert set(data) >= {"customers", "average_score", "bands", "signals", "accounts", "trend_from", "as_of"}
    one = json.loads(
        report("health", "--format", "json", "--as-of", "2026-06-30", "--account", str(a.account_id))
    )
    assert one["accounts"][0]["account_id"] == a.account_id
    table = report("health", "--as-of", "2026-06-30")
    assert table.splitlines()[0].split()[:5] == ["account_id", "name", "score", "band", "trend"]
    with pytest.raises(CommandError, match="not_a_customer"):
        report("health", "--as-of", "2026-06-30", "--account", str(c.account_id))
    with pytest.raises(CommandError, match="bad_limit"):
        report("health", "--limit", "0")
