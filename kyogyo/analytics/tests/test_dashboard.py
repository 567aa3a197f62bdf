"""The Model's pages on hand-made journeys: the waterfall's numbers as shown, every number's
drill-down listing exactly the records it counts, the filters and their validation."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse

from kyogyo.analytics import drilldown, reports
from kyogyo.analytics.drilldown import Cell
from kyogyo.analytics.spec import Spec
from kyogyo.testing import T0

DAY = dt.timedelta(days=1)
APRIL = {"start": "2026-04-01", "end": "2026-04-30"}


@pytest.fixture
def journeys(make_contact, walk, analytics):
    """A: lead → mql → sal → sql → opportunity (April). B: lead → mql → rejected to nurture →
    mql again → sal. C: lead only. D: lead and mql in May. Source: A, B web; C, D event."""
    a = walk(
        make_contact(at=T0, first_name="Aiko", source="web"),
        [("mql", T0 + DAY), ("sal", T0 + 2 * DAY), ("sql", T0 + 5 * DAY), ("opportunity", T0 + 6 * DAY)],
    )
    b = walk(
        make_contact(at=T0, first_name="Ben", source="web"),
        [
            ("mql", T0 + 3 * DAY),
            ("reject:no_need_now", T0 + 4 * DAY),
            ("mql", T0 + 20 * DAY),
            ("sal", T0 + 21 * DAY),
        ],
    )
    c = make_contact(at=T0, first_name="Chie", source="event")
    d = walk(make_contact(at=T0 + 40 * DAY, first_name="Dai", source="event"), [("mql", T0 + 41 * DAY)])
    analytics()
    return a, b, c, d


def numbers(html: str, css_id: str) -> list[str]:
    row = re.search(rf'<tr id="{css_id}">(.*?)</tr>', html, re.S)
    assert row, css_id
    return re.findall(r'<a class="(?:entered|advanced)" href="[^"]*">([^<]*)</a>', row.group(1))


def test_the_waterfall_shows_first_entries_and_advances(client, people, journeys):
    client.force_login(people.manager)
    html = client.get(reverse("analytics:dashboard"), APRIL).content.decode()
    assert numbers(html, "stage-lead") == ["3", "2"]
    assert numbers(html, "stage-mql") == ["2", "2"]
    assert numbers(html, "stage-sal") == ["2", "1"]
    assert numbers(html, "stage-opportunity") == ["1", "0"]
    assert "2/3" in html  # lead → MQL with its numerator and denominator


@pytest.mark.parametrize("view", ["cohort", "period"])
def test_every_waterfall_cell_drills_down_to_exactly_its_people(people, journeys, view):
    options = {"start": dt.date(2026, 4, 1), "end": dt.date(2026, 5, 31), "view": view}
    _, data = reports.run("waterfall", {**reports.own_defaults("waterfall"), **options})
    context = reports.context(None)
    spec = reports.spec_from(options)
    for row in data["stages"]:
        assert drilldown.count(context, spec, Cell("waterfall", "entered", row["stage"])) == row["entered"]
        if row["next_stage"]:
            cell = Cell("waterfall", "advanced", row["stage"])
            assert drilldown.count(context, spec, cell) == row["advanced"], (view, row["stage"])


def test_every_handoff_number_drills_down_to_exactly_its_handoffs(people, journeys):
    options = {"start": dt.date(2026, 4, 1), "end": dt.date(2026, 5, 31)}
    _, data = reports.run("handoffs", {**reports.own_defaults("handoffs"), **options})
    context, spec = reports.context(None), reports.spec_from(options)
    for b in data["boundaries"]:
        for measure in ("created", "accepted", "rejected", "open"):
            assert drilldown.count(context, spec, Cell("handoffs", measure, b["stage"])) == b[measure]
        due = b["follow_up_quality"]
        for measure in ("due", "met", "breached"):
            assert drilldown.count(context, spec, Cell("handoffs", measure, b["stage"])) == due[measure]
    mql = next(b for b in data["boundaries"] if b["stage"] == "mql")
    assert mql["created"] == 4 and mql["rejected"] == 1  # A, B twice, D; B's first was rejected


def test_the_drill_down_lists_the_people_with_links(client, people, journeys):
    a, b, c, d = journeys
    client.force_login(people.is_rep)
    response = client.get(
        reverse("analytics:drilldown"),
        {**APRIL, "metric": "waterfall", "measure": "advanced", "stage": "lead"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert f'href="/people/{a.pk}/"' in html and f'href="/people/{b.pk}/"' in html
    assert f'href="/people/{c.pk}/"' not in html and f'href="/people/{d.pk}/"' not in html


def test_filters_narrow_the_numbers_and_travel_in_the_links(client, people, journeys):
    client.force_login(people.manager)
    html = client.get(reverse("analytics:dashboard"), {**APRIL, "source": "event"}).content.decode()
    assert numbers(html, "stage-lead")[0] == "1"  # only C entered in April from events
    assert "source=event" in html
    context = reports.context(None)
    spec = Spec(start=dt.date(2026, 4, 1), end=dt.date(2026, 4, 30), filters={"source": "event"})
    assert drilldown.count(context, spec, Cell("waterfall", "entered", "lead")) == 1


@pytest.mark.parametrize(
    "params, field",
    [
        ({"start": "2026-13-01"}, "start"),
        ({"period": "next spring"}, "period"),
        ({"source": "nowhere"}, "source"),
    ],
)
def test_bad_filters_are_said_not_crashed_on(client, people, journeys, params, field):
    client.force_login(people.manager)
    response = client.get(reverse("analytics:dashboard"), params)
    assert response.status_code == 200
    assert response.context["form"].errors[field]
    assert 'role="alert"' in response.content.decode()


def test_a_period_that_ends_before_it_starts_is_refused(client, people, journeys):
    client.force_login(people.manager)
    response = client.get(reverse("analytics:dashboard"), {"start": "2026-05-01", "end": "2026-04-01"})
    assert response.context["form"].errors["end"]


def test_the_drill_down_reads_one_page_without_n_plus_one(
    client, people, make_contact, journeys, analytics, django_assert_max_num_queries
):
    for n in range(30):
        make_contact(at=T0, first_name=f"Extra{n}")
    analytics()
    client.force_login(people.manager)
    url = reverse("analytics:drilldown")
    with django_assert_max_num_queries(12):
        response = client.get(url, {**APRIL, "metric": "waterfall", "measure": "entered", "stage": "lead"})
    assert response.status_code == 200 and len(response.context["page"].items) == 33


def test_the_balances_drill_down_to_exactly_their_people(people, journeys):
    options = {"start": dt.date(2026, 4, 10), "end": dt.date(2026, 6, 30)}
    _, data = reports.run("flow", {**reports.own_defaults("flow"), **options})
    context, spec = reports.context(None), reports.spec_from(options)
    for row in data["stages"]:
        for measure in ("opening", "balance"):
            assert drilldown.count(context, spec, Cell("flow", measure, row["stage"])) == row[measure]
        if row["stalled"] is not None:
            assert drilldown.count(context, spec, Cell("flow", "stalled", row["stage"])) == row["stalled"]
    assert sum(row["balance"] for row in data["stages"]) == 4
    assert sum(row["opening"] for row in data["stages"]) == 3  # A, B and C; D arrives in May
    assert any(row["stalled"] for row in data["stages"])  # C has waited in lead since April


def test_wins_and_revenue_drill_down_to_the_won_deals(client, people, make_contact, walk, analytics):
    from kyogyo.deals.actions import qualify, win_deal

    deals = []
    for n, amount in enumerate((1_000_000, 2_500_000)):
        contact = walk(make_contact(at=T0 + n * DAY), [("mql", T0 + DAY), ("sal", T0 + 2 * DAY)])
        deal = qualify(contact, actor=people.is_rep, name=f"Deal {n}", amount=amount, at=T0 + 5 * DAY)
        walk(contact, [("opportunity", T0 + 6 * DAY)])
        deal.refresh_from_db()
        deals.append(win_deal(deal, actor=deal.owner, at=T0 + 16 * DAY))
    analytics()
    client.force_login(people.fs_rep)
    response = client.get(reverse("analytics:dashboard"), {"period": "FY2026"})
    wins = next(k for link in response.context["chain"] for k in link["kpis"] if k["key"] == "wins")
    assert wins["actual"] == 2 and response.context["tree"]["actual"] == 3_500_000
    html = client.get(wins["url"]).content.decode()
    assert all(f'href="/deals/{deal.pk}/"' in html for deal in deals)
    assert (
        drilldown.count(
            reports.context(None),
            Spec(start=dt.date(2026, 4, 1), end=dt.date(2027, 3, 31)),
            Cell("deals", "won"),
        )
        == 2
    )


def test_the_dashboard_and_review_read_the_database_a_bounded_number_of_times(
    client, people, make_contact, journeys, analytics, django_assert_max_num_queries
):
    for n in range(40):
        make_contact(at=T0, first_name=f"More{n}")
    analytics()
    client.force_login(people.manager)
    with django_assert_max_num_queries(30):  # settings per report, teams, reasons: not per person
        assert client.get(reverse("analytics:dashboard"), APRIL).status_code == 200
    with django_assert_max_num_queries(30):
        assert client.get(reverse("analytics:review"), {"week": "2026-04-06"}).status_code == 200
