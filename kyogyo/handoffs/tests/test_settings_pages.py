"""Settings → SLAs and business calendar over HTTP: SLA hours per handoff stage, the
working week (checked by building the calendar the clocks use), company holidays,
routing rules with validated conditions; admins only."""

from __future__ import annotations

import datetime as dt

import pytest

from kyogyo.handoffs.actions import load_calendar
from kyogyo.handoffs.models import BusinessCalendar, CalendarException, RoutingRule
from kyogyo.journey.models import Stage
from kyogyo.org.models import Team

PAYLOAD = "<script>alert(1)</script>"


@pytest.fixture
def admin_client(client, people):
    client.force_login(people.admin)
    return client


def test_members_get_the_403_page(client, people):
    client.force_login(people.manager)
    assert client.get("/settings/sla/").status_code == 403
    assert client.post("/settings/sla/exceptions/", {"date": "2026-12-31"}).status_code == 403
    assert not CalendarException.objects.exists()


def test_the_page_shows_handoff_stages_and_the_calendar(admin_client, people, django_assert_max_num_queries):
    with django_assert_max_num_queries(12):
        html = admin_client.get("/settings/sla/").content.decode()
    assert 'id="sla-mql"' in html and 'id="calendar"' in html
    assert "No routing rules" in html and "No company holidays" in html


def test_sla_hours_are_saved_and_validated(admin_client, people):
    stage = Stage.objects.get(key="mql")
    response = admin_client.post(f"/settings/sla/stages/{stage.pk}", {f"s{stage.pk}-sla_hours": "0"})
    assert response.status_code == 422
    assert b"Ensure this value is greater than or equal to 1." in response.content
    admin_client.post(f"/settings/sla/stages/{stage.pk}", {f"s{stage.pk}-sla_hours": "16"})
    stage.refresh_from_db()
    assert stage.sla_hours == 16
    lead = Stage.objects.get(key="lead")
    assert (
        admin_client.post(f"/settings/sla/stages/{lead.pk}", {f"s{lead.pk}-sla_hours": "4"}).status_code
        == 404
    )


def test_the_calendar_is_checked_as_the_clocks_read_it(admin_client, people):
    form = {"time_zone": "Mars/Base", "weekdays": ["0", "1"], "day_start": "09:00", "day_end": "18:00"}
    response = admin_client.post("/settings/sla/", form)
    assert response.status_code == 422 and b"Unknown time zone" in response.content
    response = admin_client.post("/settings/sla/", {**form, "time_zone": "Asia/Tokyo", "day_end": "08:00"})
    assert response.status_code == 422 and b"The working day must end after it starts." in response.content
    response = admin_client.post("/settings/sla/", {**form, "time_zone": "Asia/Tokyo", "weekdays": []})
    assert b"Choose at least one working weekday." in response.content, response.context[
        "calendar_form"
    ].errors
    response = admin_client.post(
        "/settings/sla/",
        {
            **form,
            "time_zone": "Asia/Tokyo",
            "weekdays": ["0", "1", "2", "3", "4", "5"],
            "holiday_country": "jp",
        },
    )
    assert response.status_code == 302
    row = BusinessCalendar.objects.get(pk=1)
    assert (row.weekdays, row.holiday_country) == ([0, 1, 2, 3, 4, 5], "JP")
    assert load_calendar().is_working_day(dt.date(2026, 4, 11))  # a Saturday, now worked


def test_company_holidays_are_added_and_removed(admin_client, people):
    response = admin_client.post(
        "/settings/sla/exceptions/", {"date": "2026-12-29", "name": PAYLOAD}, follow=True
    )
    assert b"The day is added to the calendar." in response.content
    assert PAYLOAD.encode() not in response.content and b"&lt;script&gt;" in response.content
    assert not load_calendar().is_working_day(dt.date(2026, 12, 29))
    again = admin_client.post("/settings/sla/exceptions/", {"date": "2026-12-29"})
    assert again.status_code == 422 and b"This date is already in the calendar." in again.content
    day = CalendarException.objects.get()
    page = admin_client.get("/settings/sla/").content.decode()
    assert "data-confirm=" in page
    response = admin_client.post(f"/settings/sla/exceptions/{day.pk}/remove", follow=True)
    assert b"The day is removed" in response.content
    assert not CalendarException.objects.exists()


def test_routing_rules_validate_their_condition_and_pool(admin_client, people):
    team = Team.objects.get(key=Team.INSIDE_SALES)
    form = {
        "team": team.pk,
        "name": "Enterprise",
        "priority": "10",
        "condition": "{field: account.employee_count, op: contains, value: 1000}",
        "users": [str(people.is_rep.pk)],
    }
    response = admin_client.post("/settings/sla/routing/", form)
    assert response.status_code == 422
    assert b"condition" in response.content and b"op" in response.content
    response = admin_client.post(
        "/settings/sla/routing/",
        {
            **form,
            "condition": "{field: account.employee_count, op: gte, value: 1000}",
            "users": [str(people.fs_rep.pk)],
        },
    )
    assert (
        response.status_code == 422 and b"Choose at least one active member of the team." in response.content
    )
    response = admin_client.post(
        "/settings/sla/routing/",
        {**form, "condition": "{field: account.employee_count, op: gte, value: 1000}"},
    )
    assert response.status_code == 302
    rule = RoutingRule.objects.get()
    assert rule.condition == {"field": "account.employee_count", "op": "gte", "value": 1000}
    assert list(rule.users.all()) == [people.is_rep]
    admin_client.post(f"/settings/sla/routing/{rule.pk}/active", {"active": "0"})
    rule.refresh_from_db()
    assert not rule.active
