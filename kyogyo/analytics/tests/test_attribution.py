"""Attribution of pipeline and revenue on hand-made touches whose credits can be checked by
hand, against a plain-Python computation (exact fractions) on the demo company and on
random touches (property-based: every model's credits add up to the total), edge cases and
the CLI."""

from __future__ import annotations

import datetime as dt
import io
import json
import math
from collections.abc import Iterable
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kyogyo.analytics.metrics import attribution
from kyogyo.analytics.metrics.attribution import MODELS
from kyogyo.analytics.spec import Spec, SpecError
from kyogyo.analytics.tests.test_deals_bands import at, make_deal

APRIL = {"start": dt.date(2026, 4, 1), "end": dt.date(2026, 4, 30)}
TOKYO = ZoneInfo("Asia/Tokyo")

# --- the reference: the documented rules, with exact fractions ----------------------------

Key = Any  # a campaign id, a source, or None for "(none)"


def reference_shares(touches: Iterable[tuple[dt.date, Key]], lead_day: dt.date | None) -> dict[str, dict]:
    """model → touch key → the deal's share (a Fraction), by the documented rules."""
    ordered = sorted(set(touches))
    if not ordered:
        return {m: {None: Fraction(1)} for m in MODELS}
    k = len(ordered)
    lead = max((i for i, (day, _) in enumerate(ordered) if lead_day and day <= lead_day), default=None)
    positions = [0, k - 1] + ([lead] if lead is not None else [])
    others = [i for i in range(k) if i not in positions]
    weights: dict[int, Fraction] = {}
    for i in positions:
        weights[i] = weights.get(i, Fraction(0)) + Fraction(3, 10)
    for i in others:
        weights[i] = Fraction(1, 10) / len(others)
    total = sum(weights.values())
    shares: dict[str, dict] = {m: {} for m in MODELS}
    for i, (_, key) in enumerate(ordered):
        for model, share in (
            ("first_touch", Fraction(int(i == 0))),
            ("last_touch", Fraction(int(i == k - 1))),
            ("linear", Fraction(1, k)),
            ("w_shaped", weights.get(i, Fraction(0)) / total),
        ):
            if share:
                shares[model][key] = shares[model].get(key, Fraction(0)) + share
    return shares


def largest_remainder(amount: int, shares: dict[Key, Fraction]) -> dict[Key, int]:
    exact = {key: amount * share for key, share in shares.items()}
    credits = {key: math.floor(value) for key, value in exact.items()}
    left = amount - sum(credits.values())
    ranked = sorted(exact, key=lambda key: (-(exact[key] - credits[key]), key is None, key))
    for key in ranked[:left]:
        credits[key] += 1
    return credits


def reference(deals: Iterable[tuple[int, dt.date | None, list[tuple[dt.date, Key]]]]) -> dict[str, dict]:
    """deals: (amount, lead day, touches) → model → key → (deals, touched deals, amount)."""
    found: dict[str, dict] = {m: {} for m in MODELS}
    for amount, lead_day, touches in deals:
        for model, shares in reference_shares(touches, lead_day).items():
            for key, credit in largest_remainder(amount, shares).items():
                deals_share, touched, total = found[model].get(key, (Fraction(0), 0, 0))
                found[model][key] = (
                    deals_share + shares[key],
                    touched + 1,
                    total + credit,
                )
    return found


def as_found(block: dict, touch: str) -> dict[str, dict]:
    """The metric's credits in the reference's shape."""
    out: dict[str, dict] = {}
    for model, credits in block["models"].items():
        out[model] = {}
        for c in credits:
            key = None if c["key"] == "(none)" else (c["id"] if touch == "campaign" else c["key"])
            out[model][key] = (c["deals"], c["touched_deals"], c["amount"])
    return out


def assert_same(found: dict[str, dict], expected: dict[str, dict]) -> None:
    for model in MODELS:
        assert set(found[model]) == set(expected[model]), model
        for key, (deals, touched, amount) in expected[model].items():
            got = found[model][key]
            assert got[1:] == (touched, amount), (model, key)
            assert got[0] == pytest.approx(float(deals), abs=1e-4), (model, key)


# --- hand-made touches ---------------------------------------------------------------


@pytest.fixture
def campaigns(db):
    from kyogyo.marketing.models import Campaign

    return {name: Campaign.objects.create(name=name, channel="web") for name in ("X", "Y", "Z", "W")}


def touch(contact, when: dt.datetime, campaign=None, source: str = "", type: str = "web_visit") -> None:
    from kyogyo.marketing.actions import record_activity

    record_activity(contact, type, when, campaign_id=campaign.pk if campaign else None, source=source)


@pytest.fixture
def touched(make_contact, walk, people, campaigns):
    """A: 1 000 000, first MQL on 10 April, created 20 April, won 28 April. Its touches:
    1 Apr X/paid_search (twice that day: one touch), 5 Apr Y/email, 10 Apr Z/email (the
    MQL day), 15 Apr Y/webinar, 20 Apr W/webinar (the day the deal was created), 25 Apr X
    (after: not a touch).
    B: 100, touches 2 Apr X, 3 Apr Y, 4 Apr Z; first MQL 10 April; created 12 April; open.
    C: 500, created 8 April, no touches, lost."""
    x, y, z, w = (campaigns[n] for n in "XYZW")
    a_contact = make_contact(at=at(3, 20))
    a = make_deal(
        make_contact,
        walk,
        people,
        contact=a_contact,
        mql=at(4, 10),
        created=at(4, 20),
        won=at(4, 28),
        amount=1_000_000,
    )
    touch(a_contact, at(4, 1, 9), x, "paid_search")
    touch(a_contact, at(4, 1, 15), x, "paid_search", type="email_open")
    touch(a_contact, at(4, 5), y, "email")
    touch(a_contact, at(4, 10, 9), z, "email")
    touch(a_contact, at(4, 15), y, "webinar")
    touch(a_contact, at(4, 20, 18), w, "webinar")
    touch(a_contact, at(4, 25), x, "paid_search")
    b_contact = make_contact(at=at(3, 20))
    b = make_deal(make_contact, walk, people, contact=b_contact, mql=at(4, 10), created=at(4, 12), amount=100)
    for day, campaign in ((2, x), (3, y), (4, z)):
        touch(b_contact, at(4, day), campaign)
    c = make_deal(make_contact, walk, people, created=at(4, 8), lost=("price", at(4, 9)), amount=500)
    return a, b, c


def credits_of(data: dict, measure: str, touch: str, model: str) -> dict[str, tuple[float, int]]:
    block = next(b for b in data["results"] if b["measure"] == measure and b["touch"] == touch)
    return {c["key"]: (c["deals"], c["amount"]) for c in block["models"][model]}


def test_campaign_credits_of_the_pipeline_by_each_model(touched, analytics):
    data = attribution.compute(analytics(), Spec(options={"measure": "pipeline"}, **APRIL)).as_dict()
    (block,) = [b for b in data["results"] if b["touch"] == "campaign"]
    assert (block["currency"], block["deals"], block["amount"], block["unattributed_deals"]) == (
        "JPY",
        3,
        1_000_600,
        1,
    )
    assert credits_of(data, "pipeline", "campaign", "first_touch") == {
        "X": (2.0, 1_000_100),
        "(none)": (1.0, 500),
    }
    assert credits_of(data, "pipeline", "campaign", "last_touch") == {
        "W": (1.0, 1_000_000),
        "Z": (1.0, 100),
        "(none)": (1.0, 500),
    }
    # A: five touches of 200 000 (Y twice); B: 100 ÷ 3 — the leftover unit to X (lowest id)
    assert credits_of(data, "pipeline", "campaign", "linear") == {
        "Y": (0.7333, 400_033),
        "X": (0.5333, 200_034),
        "Z": (0.5333, 200_033),
        "W": (0.2, 200_000),
        "(none)": (1.0, 500),
    }
    # A: X first 30 %, Z lead creation 30 %, W opportunity creation 30 %, Y 5 % + 5 %;
    # B: X first 30 %, Y the only other 10 %, Z both lead and opportunity creation 60 %
    assert credits_of(data, "pipeline", "campaign", "w_shaped") == {
        "Z": (0.9, 300_060),
        "X": (0.6, 300_030),
        "W": (0.3, 300_000),
        "Y": (0.2, 100_010),
        "(none)": (1.0, 500),
    }
    models = data["results"][0]["models"]
    assert [c["key"] for c in models["w_shaped"]] == ["Z", "X", "W", "Y", "(none)"]  # by amount
    assert models["first_touch"][0]["id"] is not None and models["first_touch"][-1]["id"] is None


def test_source_credits_and_revenue(touched, analytics):
    data = attribution.compute(analytics(), Spec(**APRIL)).as_dict()
    assert [(b["measure"], b["touch"]) for b in data["results"]] == [
        ("pipeline", "campaign"),
        ("pipeline", "source"),
        ("revenue", "campaign"),
        ("revenue", "source"),
    ]
    # A's source touches: paid_search, email, email (MQL day), webinar, webinar
    assert credits_of(data, "revenue", "source", "w_shaped") == {
        "email": (0.35, 350_000),
        "webinar": (0.35, 350_000),
        "paid_search": (0.3, 300_000),
    }
    assert credits_of(data, "revenue", "source", "linear") == {
        "email": (0.4, 400_000),
        "webinar": (0.4, 400_000),
        "paid_search": (0.2, 200_000),
    }
    assert credits_of(data, "revenue", "campaign", "first_touch") == {"X": (1.0, 1_000_000)}
    # B has no source touch: (none) in the pipeline, with C
    assert credits_of(data, "pipeline", "source", "first_touch") == {
        "paid_search": (1.0, 1_000_000),
        "(none)": (2.0, 600),
    }


def test_every_model_credits_exactly_the_total(touched, analytics):
    data = attribution.compute(analytics(), Spec(**APRIL)).as_dict()
    for block in data["results"]:
        for model, credits in block["models"].items():
            assert sum(c["amount"] for c in credits) == block["amount"], (
                block["measure"],
                block["touch"],
                model,
            )
            assert sum(c["deals"] for c in credits) == pytest.approx(block["deals"], abs=1e-3)


def test_a_single_touch_gets_everything_in_every_model(make_contact, walk, people, campaigns, analytics):
    contact = make_contact(at=at(3, 20))
    make_deal(make_contact, walk, people, contact=contact, created=at(4, 12), amount=999)
    touch(contact, at(4, 2), campaigns["Y"])
    data = attribution.compute(analytics(), Spec(options={"touch": "campaign"}, **APRIL)).as_dict()
    for model in MODELS:
        assert credits_of(data, "pipeline", "campaign", model) == {"Y": (1.0, 999)}
    assert credits_of(data, "revenue", "campaign", "linear") == {}


def test_without_a_lead_creation_touch_the_weights_are_scaled_back(
    make_contact, walk, people, campaigns, analytics
):
    """Touches only after the first MQL: first 30, the other 10, last 30 → 3/7, 1/7, 3/7."""
    contact = make_contact(at=at(3, 20))
    make_deal(make_contact, walk, people, contact=contact, mql=at(4, 1), created=at(4, 12), amount=700)
    for day, name in ((2, "X"), (3, "Y"), (4, "Z")):
        touch(contact, at(4, day), campaigns[name])
    data = attribution.compute(
        analytics(), Spec(options={"touch": "campaign", "measure": "pipeline"}, **APRIL)
    )
    assert credits_of(data.as_dict(), "pipeline", "campaign", "w_shaped") == {
        "X": (0.4286, 300),
        "Z": (0.4286, 300),
        "Y": (0.1429, 100),
    }


# --- edge cases ----------------------------------------------------------------------


def test_an_empty_window(touched, analytics):
    data = attribution.compute(
        analytics(), Spec(start=dt.date(2020, 1, 1), end=dt.date(2020, 1, 31))
    ).as_dict()
    assert len(data["results"]) == 4
    for block in data["results"]:
        assert (block["deals"], block["amount"], block["currency"]) == (0, 0, None)
        assert block["models"] == {m: [] for m in MODELS}


def test_filters_and_currencies(make_contact, walk, people, campaigns, analytics):
    yen = make_contact(at=at(3, 20), source="event")
    make_deal(make_contact, walk, people, contact=yen, created=at(4, 12), amount=1000)
    touch(yen, at(4, 2), campaigns["X"])
    dollars = make_contact(at=at(3, 20), source="partner")
    make_deal(make_contact, walk, people, contact=dollars, created=at(4, 12), amount=70, currency="USD")
    touch(dollars, at(4, 2), campaigns["X"])
    spec = Spec(options={"touch": "campaign", "measure": "pipeline"}, **APRIL)
    data = attribution.compute(analytics(), spec).as_dict()
    assert [(b["currency"], b["amount"]) for b in data["results"]] == [("JPY", 1000), ("USD", 70)]
    assert data["results"][1]["models"]["linear"] == [
        {"key": "X", "id": campaigns["X"].pk, "deals": 1.0, "touched_deals": 1, "amount": 70}
    ]
    usd = attribution.compute(analytics(), Spec(options={"currency": "USD"}, **APRIL)).as_dict()
    assert {b["currency"] for b in usd["results"]} == {"USD"}
    event = attribution.compute(analytics(), Spec(filters={"source": "event"}, **APRIL)).as_dict()
    assert {b["amount"] for b in event["results"] if b["measure"] == "pipeline"} == {1000}


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"by": ("segment",)}, "unsupported"),
        ({"unit": "account"}, "bad_unit"),
        ({"filters": {"shoe_size": "9"}}, "unknown_dimension"),
        ({"options": {"measure": "profit"}}, "bad_measure"),
        ({"options": {"touch": "moon"}}, "bad_touch"),
        ({"options": {"currency": "¥"}}, "bad_currency"),
    ],
)
def test_bad_input_is_refused_by_name(defaults, analytics, kwargs, code):
    with pytest.raises(SpecError) as caught:
        attribution.compute(analytics(), Spec(**kwargs))
    assert caught.value.code == code


# --- property: the SQL against the exact reference on random touches ---------------------

START = dt.date(2026, 1, 1)


def _run_sql(deals: list[tuple[int, int | None, list[tuple[int, int]]]], touch: str) -> dict[str, dict]:
    """The metric's own SQL over in-memory tables holding just these deals and touches."""
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE test_deals (id BIGINT, currency VARCHAR, amount BIGINT, contact_id BIGINT, "
        "created_at TIMESTAMP, status VARCHAR, lead_day DATE)"
    )
    con.execute(
        "CREATE TABLE activity_days (contact_id BIGINT, day DATE, campaign_id BIGINT, source VARCHAR)"
    )
    created = dt.datetime.combine(START + dt.timedelta(days=40), dt.time(12))
    for i, (amount, lead, touches) in enumerate(deals, start=1):
        lead_day = START + dt.timedelta(days=lead) if lead is not None else None
        con.execute(
            "INSERT INTO test_deals VALUES (?, 'JPY', ?, ?, ?, 'open', ?)", [i, amount, i, created, lead_day]
        )
        for day, key in touches:
            con.execute(
                "INSERT INTO activity_days VALUES (?, ?, ?, ?)",
                [i, START + dt.timedelta(days=day), key, f"s{key:02d}"],
            )
    sql = attribution.attribution_sql("TRUE", touch, "lead_day", "SELECT * FROM test_deals")
    found: dict[str, dict] = {m: {} for m in MODELS}
    for model, _currency, key, share, touched, amount in con.execute(sql).fetchall():
        found[model][key] = (round(share, 4), touched, amount)
    return found


touches_strategy = st.lists(st.tuples(st.integers(0, 45), st.integers(1, 6)), max_size=8)
deal_strategy = st.tuples(st.integers(0, 10**12), st.one_of(st.none(), st.integers(0, 45)), touches_strategy)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(deal_strategy, min_size=1, max_size=6), st.sampled_from(["campaign", "source"]))
def test_credits_add_up_and_match_the_reference_on_random_touches(deals, touch):
    found = _run_sql(deals, touch)
    total = sum(amount for amount, _, _ in deals)
    for model in MODELS:
        assert sum(amount for _, _, amount in found[model].values()) == total, model
        assert sum(share for share, _, _ in found[model].values()) == pytest.approx(len(deals), abs=1e-3)
    day = START.toordinal()
    created = START + dt.timedelta(days=40)

    def key_of(k: int) -> Key:
        return k if touch == "campaign" else f"s{k:02d}"

    expected = reference(
        (
            amount,
            dt.date.fromordinal(day + lead) if lead is not None else None,
            [
                (dt.date.fromordinal(day + d), key_of(k))
                for d, k in touches
                if dt.date.fromordinal(day + d) <= created
            ],
        )
        for amount, lead, touches in deals
    )
    assert_same(found, expected)


def test_the_standard_w_shaped_split_of_a_seven_touch_journey():
    """The standard W-shaped split (e.g. attribyte.xyz, "W-shaped attribution model"; the
    same 30/30/30/10 on leadsources.io): 30 % to the first touch, 30 % to the lead-creation
    touch, 30 % to the opportunity-creation touch, the other 10 % equally over the rest —
    here a first ad, the MQL download, four nurture touches and the touch on the deal's day:
    2.5 % each for the four."""
    first, lead, *nurture, opportunity = range(1, 8)
    touches = [(0, first), (20, lead), (25, nurture[0]), (30, nurture[1]), (33, nurture[2]), (36, nurture[3])]
    found = _run_sql([(1_000_000, 20, [*touches, (40, opportunity)])], "campaign")
    w = {key: amount for key, (_, _, amount) in found["w_shaped"].items()}
    assert w == {first: 300_000, lead: 300_000, opportunity: 300_000, **{n: 25_000 for n in nurture}}
    assert {key: amount for key, (_, _, amount) in found["linear"].items()} == {
        k: 142_857 + (k == 1)
        for k in range(1, 8)  # 1 000 000 ÷ 7, the leftover unit to the first key
    }


# --- against the reference on the demo company ----------------------------------------


def test_matches_the_reference_on_the_demo_company(defaults, analytics):
    from kyogyo.deals.models import Deal
    from kyogyo.demo.build import build
    from kyogyo.journey.models import Milestone
    from kyogyo.marketing.models import Activity

    build(seed=3, people=600, end=dt.date(2026, 10, 31), driver="bulk")
    context = analytics()
    start, end = dt.date(2025, 4, 1), dt.date(2026, 9, 30)
    data = attribution.compute(context, Spec(start=start, end=end)).as_dict()

    def day(moment: dt.datetime) -> dt.date:
        return moment.astimezone(TOKYO).date()

    activities: dict[int, list[tuple[dt.date, int | None, str]]] = {}
    for a in Activity.objects.all():
        activities.setdefault(a.contact_id, []).append((day(a.occurred_at), a.campaign_id, a.source))
    lead_days = {
        m.subject_id: dt.datetime.fromisoformat(m.first_entered["mql"]).astimezone(TOKYO).date()
        for m in Milestone.objects.all()
        if "mql" in m.first_entered
    }
    all_deals = list(Deal.objects.all())
    chosen = {
        "pipeline": [d for d in all_deals if start <= day(d.created_at) <= end],
        "revenue": [
            d for d in all_deals if d.status == "won" and d.closed_at and start <= day(d.closed_at) <= end
        ],
    }
    checked = 0
    for block in data["results"]:
        index = 1 if block["touch"] == "campaign" else 2
        picked = chosen[block["measure"]]
        expected = reference(
            (
                d.amount,
                lead_days.get(d.contact_id),
                [
                    (when, row[index] or None)
                    for row in activities.get(d.contact_id, [])
                    if (when := row[0]) <= day(d.created_at) and (row[index] or None) is not None
                ],
            )
            for d in picked
        )
        assert (block["deals"], block["amount"]) == (len(picked), sum(d.amount for d in picked))
        assert_same(as_found(block, block["touch"]), expected)
        checked += len(picked)
    assert checked > 40


def test_every_json_key_is_documented(touched, analytics):
    from kyogyo.analytics.tests.test_deals_bands import undocumented

    data = attribution.compute(analytics(), Spec(**APRIL)).as_dict()
    assert undocumented(data, "attribution.md") == set()


# --- the command line --------------------------------------------------------------


def report(*args: str) -> str:
    out = io.StringIO()
    call_command("report", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_cli_json_and_csv(touched):
    data = json.loads(
        report(
            "attribution",
            "--format",
            "json",
            "--period",
            "2026-04",
            "--measure",
            "revenue",
            "--touch",
            "source",
        )
    )
    assert data["metric"] == "attribution" and data["models"] == list(MODELS)
    (block,) = data["results"]
    assert block["models"]["w_shaped"][0] == {
        "key": "email",
        "id": None,
        "deals": 0.35,
        "touched_deals": 1,
        "amount": 350_000,
    }
    lines = report(
        "attribution", "--period", "2026-04", "--format", "csv", "--touch", "campaign"
    ).splitlines()
    assert lines[0] == "measure,touch,currency,model,key,deals,touched_deals,amount"
    assert "pipeline,campaign,JPY,first_touch,X,2.0,2,1000100" in lines
    with pytest.raises(CommandError, match="unsupported"):
        report("attribution", "--by", "segment")
