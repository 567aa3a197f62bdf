"""The weekly review, planning (scenarios side by side, saving, plan vs actual, compare) and
"my KPIs" on the home page; stored text (names, reject reasons, notes) rendered inert."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from kyogyo.analytics.models import SavedPlan
from kyogyo.handoffs.actions import reject_handoff
from kyogyo.handoffs.models import Handoff
from kyogyo.journey.models import ReasonCode
from kyogyo.testing import T0
from kyogyo.web.xss_corpus import payloads, unescaped_markup

CORPUS = payloads()
DAY = dt.timedelta(days=1)
STEPS = ("lead__mql", "mql__sal", "sal__sql", "sql__opportunity", "opportunity__won")


@pytest.fixture
def rejected_this_week(people, make_contact, walk, analytics):
    """Six people handed to inside sales today; five rejected with a payload as reason label and
    note, and payloads as their names."""
    now = timezone.now()
    for n, reason in enumerate(ReasonCode.objects.filter(kind=ReasonCode.Kind.REJECT)):
        reason.label, reason.label_ja = CORPUS[100 + n][:150], CORPUS[200 + n][:150]
        reason.save(update_fields=["label", "label_ja"])
    first = ReasonCode.objects.filter(kind=ReasonCode.Kind.REJECT).first()
    for n in range(6):
        contact = make_contact(first_name=CORPUS[3 * n][:100], last_name=CORPUS[3 * n + 1][:100], at=now)
        walk(contact, [("mql", now)])
        if n < 5:
            handoff = Handoff.objects.get(subject=contact, status=Handoff.Status.OPEN)
            reject_handoff(handoff, actor=people.manager, reason=first, at=now, note=CORPUS[300 + n])
    analytics()
    return people


@pytest.mark.parametrize("language", ["en", "ja"])
def test_the_review_says_what_changed_and_which_rejects_why(client, rejected_this_week, language):
    people = rejected_this_week
    people.manager.language = language
    people.manager.save()
    client.force_login(people.manager)
    response = client.get(reverse("analytics:review"))
    html = response.content.decode()
    assert response.status_code == 200
    changes = {row["stage"]: row for row in response.context["changes"]}
    assert changes["mql"]["entered"] == 6 and changes["mql"]["change"] == 6
    assert len(response.context["rejects"]) == 5
    assert html.count("&lt;") > 10  # names, reasons and notes are there, escaped
    assert unescaped_markup(html) == []


def test_the_drill_down_shows_stored_text_inert(client, rejected_this_week):
    client.force_login(rejected_this_week.manager)
    today = timezone.localdate()
    params = {
        "start": today.isoformat(),
        "end": today.isoformat(),
        "metric": "handoffs",
        "measure": "rejected",
        "stage": "mql",
    }
    html = client.get(reverse("analytics:drilldown"), params).content.decode()
    assert html.count("<tr>") == 5 + 1  # header and the five rejected handoffs
    assert unescaped_markup(html) == []


def test_a_bad_week_is_said_and_the_current_week_shown(client, people, analytics):
    analytics()
    client.force_login(people.is_rep)
    response = client.get(reverse("analytics:review"), {"week": "last tuesday"})
    assert response.status_code == 200 and response.context["problem"]


def scenario(prefix: str, **values: str) -> dict[str, str]:
    return {f"{prefix}-{name}": value for name, value in values.items()}


HALVES = {f"rate_{step}": "0.5" for step in STEPS}


@pytest.fixture
def planner(client, people, analytics):
    analytics()
    return client


def test_two_scenarios_side_by_side(planner, people):
    planner.force_login(people.is_rep)
    data = {
        **scenario("a", target="1,200,000", period="FY2026", deal_size="100000", **HALVES),
        **scenario("b", target="1,200,000", period="FY2026", deal_size="200000", **HALVES),
    }
    response = planner.post(reverse("analytics:plan_new"), data)
    assert response.status_code == 200
    a, b = (s.data for s in response.context["scenarios"])
    assert a["wins"] == 12 and b["wins"] == 6
    assert [s["required"] for s in a["stages"]] == [384, 192, 96, 48, 24, 12]
    assert [s["required"] for s in b["stages"]] == [192, 96, 48, 24, 12, 6]


def test_assumptions_are_validated_beside_their_fields(planner, people):
    planner.force_login(people.is_rep)
    response = planner.post(reverse("analytics:plan_new"), scenario("a", target="lots", period="FY2026"))
    assert response.context["scenarios"][0].form.errors["target"]
    response = planner.post(
        reverse("analytics:plan_new"),
        scenario("a", target="1000000", period="soon", deal_size="100000", **HALVES),
    )
    assert response.context["scenarios"][0].form.errors["period"]
    response = planner.post(
        reverse("analytics:plan_new"),
        scenario("a", target="1000000", period="FY2026", deal_size="100000", rate_lead__mql="2"),
    )
    assert response.context["scenarios"][0].problem


def test_managers_save_a_scenario_members_may_not(planner, people):
    data = {
        **scenario(
            "a", name="FY2026 stretch", target="1200000", period="FY2026", deal_size="100000", **HALVES
        )
    }
    planner.force_login(people.is_rep)
    assert planner.post(reverse("analytics:plan_new"), {**data, "save": "a"}).status_code == 403
    assert not SavedPlan.objects.exists()
    planner.force_login(people.manager)
    response = planner.post(reverse("analytics:plan_new"), {**data, "save": "a"})
    saved = SavedPlan.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("analytics:plan", args=[saved.pk])
    assert saved.name == "FY2026 stretch" and saved.created_by == people.manager
    assert saved.result["wins"] == 12


def test_saving_needs_a_name(planner, people):
    planner.force_login(people.manager)
    data = scenario("a", target="1200000", period="FY2026", deal_size="100000", **HALVES)
    response = planner.post(reverse("analytics:plan_new"), {**data, "save": "a"})
    assert response.status_code == 200 and response.context["scenarios"][0].form.errors["name"]
    assert not SavedPlan.objects.exists()


def test_plan_against_actual_as_the_period_runs(client, people, make_contact, walk, analytics):
    for n in range(3):
        walk(make_contact(at=T0 + n * DAY), [("mql", T0 + (n + 1) * DAY)])
    analytics()
    client.force_login(people.manager)
    data = scenario("a", name="April", target="1000000", period="2026-04", deal_size="100000", **HALVES)
    client.post(reverse("analytics:plan_new"), {**data, "save": "a"})
    saved = SavedPlan.objects.get()
    response = client.get(reverse("analytics:plan", args=[saved.pk]))
    stages = {s["stage"]: s for s in response.context["stages"]}
    assert stages["lead"]["actual"] == 3 and stages["mql"]["actual"] == 3
    assert stages["won"]["required"] == 10
    assert "metric=waterfall" in stages["lead"]["url"]


def test_saved_plans_compare_side_by_side(client, people, analytics):
    analytics()
    client.force_login(people.manager)
    for name, size in (("Small deals", "100000"), ("Big deals", "400000")):
        data = scenario("a", name=name, target="1200000", period="FY2026", deal_size=size, **HALVES)
        client.post(reverse("analytics:plan_new"), {**data, "save": "a"})
    ids = list(SavedPlan.objects.order_by("pk").values_list("pk", flat=True))
    response = client.get(reverse("analytics:plan_compare"), {"plan": ids})
    rows = {row["label"]: [c["required"] for c in row["cells"]] for row in response.context["rows"]}
    assert rows["Won"] == [12, 3]
    assert client.get(reverse("analytics:plans")).content.decode().count('name="plan"') == 2


def test_my_kpis_on_the_home_page(client, people, make_contact, walk, analytics):
    now = timezone.now()
    walk(make_contact(at=now), [("mql", now), ("sal", now), ("sql", now)])
    analytics()
    client.force_login(people.is_rep)
    response = client.get("/")
    rows = response.context["my_kpis"]["rows"]
    assert [r["key"] for r in rows] == ["entered:sql"] and rows[0]["actual"] == 1
    assert "My KPIs against target" in response.content.decode()


def test_no_kpis_before_the_first_snapshot(client, people):
    client.force_login(people.marketer)
    assert client.get("/").context["my_kpis"] == {"rows": []}
    client.force_login(people.outsider)
    assert client.get("/").context["my_kpis"] is None


def test_the_piles_drill_down_to_the_people_open_there(client, people, make_contact, walk, analytics):
    from kyogyo.analytics import drilldown, reports
    from kyogyo.analytics.drilldown import Cell

    for n in range(4):
        contact = make_contact(at=T0 + n * DAY)
        if n % 2:
            walk(contact, [("mql", T0 + (n + 1) * DAY)])
    analytics()
    client.force_login(people.manager)
    response = client.get(reverse("analytics:review"), {"week": "2026-04-13"})
    piles = {p["stage"]: p for p in response.context["pile_up"]}
    assert piles["lead"]["open"] == 2
    context = reports.context(None)
    for stage, pile in piles.items():
        url = pile["open_url"]
        params = dict(part.split("=") for part in url.split("?", 1)[1].split("&"))
        spec = reports.spec_from(
            {"start": dt.date.fromisoformat(params["start"]), "end": dt.date.fromisoformat(params["end"])}
        )
        assert drilldown.count(context, spec, Cell("flow", "balance", stage)) == pile["open"], stage
