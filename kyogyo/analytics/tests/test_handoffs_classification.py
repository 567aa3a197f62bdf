"""Handoffs (both sides of each boundary) and lead classification (now / later / never,
nurture return) on hand-made journeys whose numbers can be checked by hand, on the demo
company against plain-Python computations from the operational rows, and through
`kyogyo report`."""

from __future__ import annotations

import datetime as dt
import io
import json
import statistics
from collections import Counter, defaultdict
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from kyogyo.analytics.metrics import classification, handoffs
from kyogyo.analytics.models import AnalyticsSettings
from kyogyo.analytics.spec import Spec, SpecError, percentile
from kyogyo.testing import T0, local

DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)
APRIL = {"start": dt.date(2026, 4, 1), "end": dt.date(2026, 4, 30)}
TOKYO = ZoneInfo("Asia/Tokyo")


def report(*args: str) -> str:
    out = io.StringIO()
    call_command("report", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def boundaries(data: dict) -> dict[str, dict]:
    return {b["stage"]: b for b in data["boundaries"]}


# ------------------------------------------------------------------ handoffs, by hand


@pytest.fixture
def five_handoffs(make_contact, walk):
    """MQL handoffs to Inside Sales, due 8 business hours later (09:00–18:00, Mon–Fri; T0 is
    Monday 6 April 10:00):

    - H1 (web): MQL at T0, due 18:00; accepted at 11:00 (1 h, met). Its SQL handoff to Field
      Sales (8 April 10:00, due 9 April 17:00) is accepted at 15:00 (5 h, met);
    - H2 (web): MQL at 11:00, due Tue 10:00; rejected "no need now" Tue 12:00 (25 h, late);
    - H3 (event): MQL at 12:00, due Tue 11:00; rejected "not a fit" at 13:00 (1 h, met);
    - H4 (event): MQL at 13:00, due Tue 12:00; never acted on;
    - H5 (web): MQL on Thu 30 April 10:00, due 18:00; never acted on."""
    h1 = walk(
        make_contact(at=T0 - HOUR, source="web"),
        [("mql", T0), ("sal", T0 + HOUR), ("sql", T0 + 2 * DAY), ("opportunity", T0 + 2 * DAY + 5 * HOUR)],
    )
    h2 = walk(
        make_contact(at=T0 - HOUR, source="web"),
        [("mql", T0 + HOUR), ("reject:no_need_now", T0 + DAY + 2 * HOUR)],
    )
    h3 = walk(
        make_contact(at=T0 - HOUR, source="event"),
        [("mql", T0 + 2 * HOUR), ("reject:not_a_fit", T0 + 3 * HOUR)],
    )
    h4 = walk(make_contact(at=T0 - HOUR, source="event"), [("mql", T0 + 3 * HOUR)])
    h5 = walk(make_contact(at=T0 - HOUR, source="web"), [("mql", T0 + 24 * DAY)])
    return h1, h2, h3, h4, h5


def test_both_sides_of_the_mql_boundary(five_handoffs, analytics):
    data = handoffs.compute(analytics(as_of=local(2026, 4, 30, 12, 0)), Spec(**APRIL)).as_dict()
    mql = boundaries(data)["mql"]
    assert (mql["from_team"], mql["to_team"]) == ("marketing", "inside_sales")
    assert (mql["created"], mql["accepted"], mql["rejected"], mql["open"]) == (5, 1, 2, 2)
    lead = mql["lead_quality"]
    assert lead["team"] == "marketing"
    assert lead["acceptance"] == {"numerator": 1, "denominator": 3, "value": 0.3333, "small": True}
    assert lead["acceptance_rate"] == 0.3333
    assert lead["reject_reasons"] == [
        {
            "reason": "no_need_now",
            "label": "No need right now",
            "count": 1,
            "by_source": [{"source": "web", "count": 1}],
        },
        {
            "reason": "not_a_fit",
            "label": "Not a fit",
            "count": 1,
            "by_source": [{"source": "event", "count": 1}],
        },
    ]
    follow = mql["follow_up_quality"]
    assert follow["team"] == "inside_sales"
    # due in April and acted on or overdue: H1, H2, H3, H4 (H5 is not due until 18:00)
    assert (follow["due"], follow["met"], follow["breached"]) == (4, 2, 2)
    assert (follow["acted_late"], follow["open_overdue"], follow["not_yet_due"]) == (1, 1, 1)
    assert follow["sla_compliance"] == {"numerator": 2, "denominator": 4, "value": 0.5, "small": True}
    # hours to first action: 1, 25, 1 → median 1, p80 = 1 + 0.6 × 24, mean 9
    assert follow["speed_to_lead_hours"] == {"count": 3, "median": 1.0, "p80": 15.4, "mean": 9.0}
    sql = boundaries(data)["sql"]
    assert (sql["from_team"], sql["to_team"], sql["created"], sql["accepted"]) == (
        "inside_sales",
        "field_sales",
        1,
        1,
    )
    assert sql["follow_up_quality"]["speed_to_lead_hours"]["median"] == 5.0
    assert sql["follow_up_quality"]["sla_compliance_rate"] == 1.0
    won = boundaries(data)["won"]
    assert (
        won["created"],
        won["lead_quality"]["acceptance_rate"],
        won["follow_up_quality"]["sla_compliance_rate"],
    ) == (
        0,
        None,
        None,
    )
    # … and Customer Success handing expansions back to Field Sales (kyogyo/success)
    assert [b["stage"] for b in data["boundaries"]] == ["mql", "sql", "won", "expansion"]


def test_handoff_states_are_taken_at_as_of(five_handoffs, analytics):
    """On Tuesday 7 April 11:30: H2 is still open (rejected at 12:00) and overdue since 10:00;
    H4 is open but not due until 12:00; H5 and the SQL handoff do not exist yet."""
    data = handoffs.compute(analytics(as_of=local(2026, 4, 7, 11, 30)), Spec(**APRIL)).as_dict()
    mql = boundaries(data)["mql"]
    assert (mql["created"], mql["accepted"], mql["rejected"], mql["open"]) == (4, 1, 1, 2)
    follow = mql["follow_up_quality"]
    assert (follow["due"], follow["met"], follow["open_overdue"], follow["not_yet_due"]) == (3, 2, 1, 1)
    assert follow["speed_to_lead_hours"]["count"] == 2
    assert boundaries(data)["sql"]["created"] == 0


def test_sla_counts_handoffs_due_in_the_window_not_created_in_it(make_contact, walk, analytics):
    """Created Thursday 30 April 17:00, due 8 business hours later: Friday 1 May 16:00."""
    walk(make_contact(at=T0), [("mql", local(2026, 4, 30, 17, 0).replace(tzinfo=TOKYO))])
    context = analytics(as_of=local(2026, 5, 8))
    april = boundaries(handoffs.compute(context, Spec(**APRIL)).as_dict())["mql"]
    assert april["created"] == 1 and april["follow_up_quality"]["due"] == 0
    may = boundaries(
        handoffs.compute(context, Spec(start=dt.date(2026, 5, 1), end=dt.date(2026, 5, 31))).as_dict()
    )
    assert may["mql"]["created"] == 0
    assert (
        may["mql"]["follow_up_quality"]["due"] == 1 and may["mql"]["follow_up_quality"]["open_overdue"] == 1
    )


def test_slices_by_assignee_and_source(five_handoffs, analytics):
    from kyogyo.handoffs.models import Handoff

    context = analytics(as_of=local(2026, 4, 30, 12, 0))
    data = handoffs.compute(context, Spec(by=("owner",), **APRIL)).as_dict()
    expected = Counter(h.assigned_to.username for h in Handoff.objects.filter(stage__key="mql"))
    got = {s["keys"]["owner"]: boundaries(s)["mql"]["created"] for s in data["slices"]}
    assert {k: v for k, v in got.items() if v} == dict(expected)
    by_source = handoffs.compute(context, Spec(by=("source",), **APRIL)).as_dict()
    web = boundaries(next(s for s in by_source["slices"] if s["key"] == "web"))["mql"]
    assert (web["created"], web["accepted"], web["rejected"], web["open"]) == (3, 1, 1, 1)
    assert web["lead_quality"]["acceptance"]["denominator"] == 2
    assigned = expected.most_common(1)[0][0]
    only = handoffs.compute(context, Spec(filters={"owner": assigned}, **APRIL)).as_dict()
    assert boundaries(only)["mql"]["created"] == expected[assigned]


def test_handoffs_by_month_of_creation(five_handoffs, analytics):
    data = handoffs.compute(analytics(), Spec(by=("month",))).as_dict()
    assert [s["key"] for s in data["slices"]] == ["2026-04"]
    assert boundaries(data["slices"][0])["mql"]["created"] == 5


# ------------------------------------------------------------------ handoffs, edge cases


def test_handoffs_with_no_data(defaults, analytics):
    data = handoffs.compute(analytics(), Spec()).as_dict()
    assert [(b["stage"], b["from_team"], b["to_team"]) for b in data["boundaries"]] == [
        ("mql", "marketing", "inside_sales"),
        ("sql", "inside_sales", "field_sales"),
        ("won", "field_sales", "customer_success"),
        ("expansion", "customer_success", "field_sales"),
    ]
    for b in data["boundaries"]:
        assert b["created"] == 0 and b["lead_quality"]["acceptance"]["value"] is None
        assert b["lead_quality"]["reject_reasons"] == []
        assert b["follow_up_quality"]["sla_compliance"]["value"] is None
        assert b["follow_up_quality"]["speed_to_lead_hours"] == {
            "count": 0,
            "median": None,
            "p80": None,
            "mean": None,
        }


def test_handoffs_acted_exactly_at_the_due_time_met_the_sla(make_contact, walk, analytics):
    walk(make_contact(at=T0 - HOUR), [("mql", T0), ("sal", T0 + 8 * HOUR)])  # due at 18:00
    follow = boundaries(handoffs.compute(analytics(), Spec(**APRIL)).as_dict())["mql"]["follow_up_quality"]
    assert (follow["due"], follow["met"], follow["breached"]) == (1, 1, 0)


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"by": ("team",)}, "unknown_dimension"),
        ({"filters": {"month": "2026-04"}}, "unknown_dimension"),
        ({"unit": "account"}, "bad_unit"),
    ],
)
def test_handoffs_refuse_bad_input_by_name(five_handoffs, analytics, kwargs, code):
    with pytest.raises(SpecError) as caught:
        handoffs.compute(analytics(), Spec(**kwargs))
    assert caught.value.code == code


# ------------------------------------------------------------------ classification, by hand


@pytest.fixture
def six_leads(make_contact, walk):
    """All leads on Monday 6 April (T0):

    - a (web): MQL +1 d, SAL +2 d, SQL +3 d, opportunity +4 d, won +5 d → now;
    - b (web): nurture +1 d, MQL +11 d (returns), SAL +12 d, SQL +13 d → later;
    - c (web): disqualified +1 d → never;
    - d (event): still a lead → undecided;
    - e (event): MQL +2 d, rejected to nurture +3 d → now (MQL came first);
    - f (event): nurture +1 d, disqualified +5 d → later."""
    a = walk(
        make_contact(at=T0, source="web"),
        [
            ("mql", T0 + DAY),
            ("sal", T0 + 2 * DAY),
            ("sql", T0 + 3 * DAY),
            ("opportunity", T0 + 4 * DAY),
            ("won", T0 + 5 * DAY),
        ],
    )
    b = walk(
        make_contact(at=T0, source="web"),
        [("nurture", T0 + DAY), ("mql", T0 + 11 * DAY), ("sal", T0 + 12 * DAY), ("sql", T0 + 13 * DAY)],
    )
    c = walk(make_contact(at=T0, source="web"), [("disqualified", T0 + DAY)])
    d = make_contact(at=T0, source="event")
    e = walk(
        make_contact(at=T0, source="event"), [("mql", T0 + 2 * DAY), ("reject:no_need_now", T0 + 3 * DAY)]
    )
    f = walk(make_contact(at=T0, source="event"), [("nurture", T0 + DAY), ("disqualified", T0 + 5 * DAY)])
    return a, b, c, d, e, f


def test_now_later_never_shares_beside_the_book_reference(six_leads, analytics):
    data = classification.compute(analytics(), Spec(**APRIL)).as_dict()
    assert data["stages"] == {
        "entry": "lead",
        "mql": "mql",
        "recycle": ["nurture"],
        "exit": ["disqualified"],
        "downstream": ["sal", "sql", "won"],
    }
    assert data["reference"] == {"now": 0.1, "later": 0.65, "never": 0.25, "source": "default"}
    assert (data["leads"], data["decided"]) == (6, 5)
    classes = data["classes"]
    assert {k: v["count"] for k, v in classes.items()} == {"now": 2, "later": 2, "never": 1}
    assert classes["now"]["share"] == {"numerator": 2, "denominator": 6, "value": 0.3333, "small": True}
    assert classes["now"]["share_of_decided"]["value"] == 0.4
    assert (classes["never"]["reference"], classes["never"]["difference"]) == (0.25, round(1 / 6 - 0.25, 4))
    assert data["undecided"] == {
        "count": 1,
        "share": {"numerator": 1, "denominator": 6, "value": 0.1667, "small": True},
    }


def test_nurture_return_and_what_returners_convert_to(six_leads, analytics):
    nurture = classification.compute(analytics(), Spec(**APRIL)).as_dict()["nurture"]
    # b, e and f entered nurture in April; only b came back to MQL, 10 days later
    assert (nurture["entered"], nurture["returned"]) == (3, 1)
    assert nurture["return_rate"]["value"] == 0.3333 and nurture["median_days_to_return"] == 10.0
    assert {k: (v["numerator"], v["denominator"]) for k, v in nurture["returners_reached"].items()} == {
        "sal": (1, 1),
        "sql": (1, 1),
        "won": (0, 1),
    }
    # first-time MQLs: a and e (b had been nurtured before its first MQL)
    assert nurture["first_time_mqls"] == 2
    assert {k: (v["numerator"], v["denominator"]) for k, v in nurture["first_time_reached"].items()} == {
        "sal": (1, 2),
        "sql": (1, 2),
        "won": (1, 2),
    }


def test_classification_slices_and_as_of(six_leads, analytics):
    data = classification.compute(analytics(), Spec(by=("source",), **APRIL)).as_dict()
    slices = {s["key"]: s for s in data["slices"]}
    web, event = slices["web"], slices["event"]
    assert {k: v["count"] for k, v in web["classes"].items()} == {"now": 1, "later": 1, "never": 1}
    assert {k: v["count"] for k, v in event["classes"].items()} == {"now": 1, "later": 1, "never": 0}
    assert event["undecided"]["count"] == 1 and web["nurture"]["entered"] == 1
    months = classification.compute(analytics(), Spec(by=("month",))).as_dict()
    assert [s["key"] for s in months["slices"]] == ["2026-04"] and months["slices"][0]["leads"] == 6
    early = classification.compute(analytics(as_of=local(2026, 4, 6, 12, 0)), Spec(**APRIL)).as_dict()
    assert early["leads"] == 6 and early["undecided"]["count"] == 6 and early["decided"] == 0
    assert early["classes"]["now"]["share_of_decided"]["value"] is None  # nothing decided: no rate
    assert early["nurture"]["return_rate"]["value"] is None


def test_reference_from_the_benchmark_setting(six_leads, analytics):
    settings = AnalyticsSettings.load()
    settings.benchmarks = {"mql:sal": 0.8, "classification": {"now": 0.2, "later": 0.5, "never": 0.3}}
    settings.save()
    data = classification.compute(analytics(), Spec(**APRIL)).as_dict()
    assert data["reference"] == {"now": 0.2, "later": 0.5, "never": 0.3, "source": "settings"}
    assert data["classes"]["now"]["difference"] == round(2 / 6 - 0.2, 4)


@pytest.mark.parametrize(
    "benchmark",
    [
        {"now": 10, "later": 65, "never": 25},
        {"now": 0.1, "later": 0.65},
        [0.1, 0.65, 0.25],
        {"now": "x", "later": 0.6, "never": 0.3},
    ],
)
def test_a_bad_benchmark_is_refused_by_name(six_leads, analytics, benchmark):
    settings = AnalyticsSettings.load()
    settings.benchmarks = {"classification": benchmark}
    settings.save()
    with pytest.raises(SpecError) as caught:
        classification.compute(analytics(), Spec())
    assert caught.value.code == "bad_benchmark"


def test_classification_with_no_data(defaults, analytics):
    data = classification.compute(analytics(), Spec()).as_dict()
    assert data["leads"] == 0 and data["classes"]["now"]["share"]["value"] is None
    assert data["classes"]["now"]["difference"] is None
    assert data["nurture"]["returners_reached"]["sal"] == {
        "numerator": 0,
        "denominator": 0,
        "value": None,
        "small": True,
    }


@pytest.mark.parametrize(
    ("kwargs", "code"), [({"by": ("shoe_size",)}, "unknown_dimension"), ({"unit": "account"}, "bad_unit")]
)
def test_classification_refuses_bad_input_by_name(six_leads, analytics, kwargs, code):
    with pytest.raises(SpecError) as caught:
        classification.compute(analytics(), Spec(**kwargs))
    assert caught.value.code == code


# ------------------------------------------------------------------ against plain Python


def _local(value: dt.datetime) -> dt.datetime:
    return value.astimezone(TOKYO).replace(tzinfo=None, microsecond=0)


@pytest.fixture
def demo(defaults, analytics):
    from kyogyo.demo.build import build

    build(seed=6, people=600, end=dt.date(2026, 10, 31), driver="bulk")
    return analytics()


def _reference_handoffs(start: dt.datetime, end: dt.datetime, as_of: dt.datetime) -> dict[str, dict]:
    from kyogyo.handoffs.models import Handoff

    found: dict[str, dict] = defaultdict(
        lambda: {
            "states": Counter(),
            "hours": [],
            "reasons": Counter(),
            "due": 0,
            "met": 0,
            "late": 0,
            "overdue": 0,
        }
    )
    for h in Handoff.objects.select_related("stage", "reason", "subject"):
        created, due = _local(h.created_at), _local(h.due_at)
        if created > as_of:
            continue
        acted = (
            _local(h.acted_at) if h.acted_at and h.status != "open" and _local(h.acted_at) <= as_of else None
        )
        row = found[h.stage.key]
        if start <= created < end:
            row["states"][h.status if acted else "open"] += 1
            if acted:
                row["hours"].append((acted - created).total_seconds() / 3600)
            if acted and h.status == "rejected":
                row["reasons"][(h.reason.key, h.subject.source or "(none)")] += 1
        if start <= due < end and (acted or due < as_of):
            row["due"] += 1
            row["met"] += bool(acted and acted <= due)
            row["late"] += bool(acted and acted > due)
            row["overdue"] += acted is None
    return found


def test_handoffs_match_plain_python_on_the_demo_company(demo):
    spec = Spec(start=dt.date(2025, 10, 1), end=dt.date(2026, 9, 30))
    data = boundaries(handoffs.compute(demo, spec).as_dict())
    expected = _reference_handoffs(local(2025, 10, 1), local(2026, 10, 1), demo.as_of)
    assert sum(sum(r["states"].values()) for r in expected.values()) > 50
    for stage, want in expected.items():
        got = data[stage]
        states = want["states"]
        assert (got["created"], got["accepted"], got["rejected"], got["open"]) == (
            sum(states.values()),
            states["accepted"],
            states["rejected"],
            states["open"],
        ), stage
        reasons = {
            (r["reason"], s["source"]): s["count"]
            for r in got["lead_quality"]["reject_reasons"]
            for s in r["by_source"]
        }
        assert reasons == dict(want["reasons"]), stage
        follow = got["follow_up_quality"]
        assert (follow["due"], follow["met"], follow["acted_late"], follow["open_overdue"]) == (
            want["due"],
            want["met"],
            want["late"],
            want["overdue"],
        ), stage
        hours = want["hours"]
        speed = follow["speed_to_lead_hours"]
        assert speed["count"] == len(hours)
        if hours:
            assert speed["median"] == pytest.approx(statistics.median(hours), abs=0.006)
            assert speed["p80"] == pytest.approx(percentile(hours, 0.8), abs=0.006)
            assert speed["mean"] == pytest.approx(statistics.fmean(hours), abs=0.006)


def _reference_classification(start: dt.datetime, end: dt.datetime) -> dict:
    """Leads, classes and nurture figures straight from each person's transition rows."""
    from kyogyo.journey.models import Transition

    now_stages = {
        "mql",
        "sal",
        "sql",
        "opportunity",
        "won",
        "onboarding",
        "active",
        "renewed",
        "expanded",
        "churned",
    }
    moves = defaultdict(list)
    for t in Transition.objects.select_related("to_stage").order_by("subject_id", "seq"):
        moves[t.subject_id].append((t.seq, t.to_stage.key, _local(t.at)))
    out: dict[str, Any] = {
        "leads": 0,
        "classes": Counter(),
        "nurtured": 0,
        "returned": 0,
        "days": [],
        "ret": Counter(),
        "first": 0,
    }
    out["first_reached"] = Counter()
    for rows in moves.values():
        leads = [r for r in rows if r[1] == "lead"]
        if leads and start <= leads[0][2] < end:
            out["leads"] += 1
            decided = next((r[1] for r in rows if r[1] in now_stages | {"nurture", "disqualified"}), None)
            kind = {"nurture": "later", "disqualified": "never", None: "undecided"}.get(decided, "now")
            out["classes"][kind] += 1
        nurture = next((r for r in rows if r[1] == "nurture"), None)
        if nurture and start <= nurture[2] < end:
            out["nurtured"] += 1
            back = next((r for r in rows if r[0] > nurture[0] and r[1] == "mql"), None)
            if back:
                out["returned"] += 1
                out["days"].append((back[2] - nurture[2]).total_seconds() / 86400)
                for stage in ("sal", "sql", "won"):
                    out["ret"][stage] += any(r[0] > back[0] and r[1] == stage for r in rows)
        first_mql = next((r for r in rows if r[1] == "mql"), None)
        if first_mql and start <= first_mql[2] < end and not (nurture and nurture[0] < first_mql[0]):
            out["first"] += 1
            for stage in ("sal", "sql", "won"):
                out["first_reached"][stage] += any(r[0] > first_mql[0] and r[1] == stage for r in rows)
    return out


def test_classification_matches_plain_python_on_the_demo_company(demo):
    data = classification.compute(demo, Spec(start=dt.date(2025, 7, 1), end=dt.date(2026, 6, 30))).as_dict()
    want = _reference_classification(local(2025, 7, 1), local(2026, 7, 1))
    assert want["leads"] > 100 and want["nurtured"] > 50
    assert data["leads"] == want["leads"]
    assert {k: v["count"] for k, v in data["classes"].items()} == {
        k: want["classes"][k] for k in ("now", "later", "never")
    }
    assert data["undecided"]["count"] == want["classes"]["undecided"]
    nurture = data["nurture"]
    assert (nurture["entered"], nurture["returned"]) == (want["nurtured"], want["returned"])
    expected_days = round(statistics.median(want["days"]), 2) if want["days"] else None
    assert nurture["median_days_to_return"] == pytest.approx(expected_days, abs=0.006)
    assert {k: v["numerator"] for k, v in nurture["returners_reached"].items()} == dict.fromkeys(
        ("sal", "sql", "won"), 0
    ) | dict(want["ret"])
    assert nurture["first_time_mqls"] == want["first"]
    assert {k: v["numerator"] for k, v in nurture["first_time_reached"].items()} == dict.fromkeys(
        ("sal", "sql", "won"), 0
    ) | dict(want["first_reached"])


# ------------------------------------------------------------------ through the command line


def test_cli_handoffs_json_and_table(five_handoffs):
    data = json.loads(report("handoffs", "--format", "json", "--period", "2026-04", "--as-of", "2026-04-29"))
    assert data["metric"] == "handoffs" and data["as_of"] == "2026-04-29T23:59:59"
    assert set(data) == {"metric", "from", "to", "by", "filters", "as_of", "boundaries", "snapshot"}
    mql = boundaries(data)["mql"]
    assert set(mql) == {
        "stage",
        "from_team",
        "to_team",
        "created",
        "accepted",
        "rejected",
        "open",
        "lead_quality",
        "follow_up_quality",
    }
    assert (mql["created"], mql["lead_quality"]["acceptance_rate"]) == (4, 0.3333)
    sliced = json.loads(report("handoffs", "--format", "json", "--by", "source", "--period", "2026-04"))
    assert [s["key"] for s in sliced["slices"]] == ["event", "web"]
    table = report("handoffs", "--period", "2026-04")
    assert table.splitlines()[0].split()[:5] == ["slice", "stage", "from_team", "to_team", "created"]


def test_cli_classification_json_and_csv(six_leads):
    data = json.loads(
        report("classification", "--format", "json", "--from", "2026-04-01", "--to", "2026-04-30")
    )
    assert data["metric"] == "classification" and data["leads"] == 6
    assert data["classes"]["later"]["share"]["value"] == 0.3333
    csv_text = report("classification", "--format", "csv", "--from", "2026-04-01", "--to", "2026-04-30")
    lines = csv_text.splitlines()
    assert lines[0] == "slice,measure,numerator,denominator,value,reference"
    assert lines[1] == "(all),now,2,6,0.3333,0.1"
    assert "(all),nurture_return,1,3,0.3333," in lines


def test_cli_classification_reports_a_bad_benchmark(six_leads):
    settings = AnalyticsSettings.load()
    settings.benchmarks = {"classification": {"now": 1.5, "later": 0.5, "never": 0.3}}
    settings.save()
    with pytest.raises(CommandError, match="bad_benchmark"):
        report("classification")
