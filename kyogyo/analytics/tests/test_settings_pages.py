"""Settings → targets and fiscal year over HTTP: targets per KPI checked (known KPI,
a period that ends after it starts, GRR as a share), deleted after confirmation; the
fiscal year and band edges validated; admins only."""

from __future__ import annotations

import pytest

from kyogyo.analytics.models import AnalyticsSettings, Target
from kyogyo.org.models import Team


@pytest.fixture
def admin_client(client, people):
    client.force_login(people.admin)
    return client


def test_members_get_the_403_page(client, people):
    client.force_login(people.manager)
    assert client.get("/settings/targets/").status_code == 403
    assert client.post("/settings/targets/", {"part": "target", "metric": "revenue"}).status_code == 403


def test_empty_state(admin_client, people):
    html = admin_client.get("/settings/targets/").content.decode()
    assert "No targets yet." in html


def test_targets_are_checked_added_and_deleted(admin_client, people):
    form = {
        "part": "target",
        "metric": "mqls",
        "starts_on": "2026-04-01",
        "ends_on": "2027-03-31",
        "value": "100",
    }
    response = admin_client.post("/settings/targets/", form)
    assert response.status_code == 422 and b"Unknown KPI" in response.content
    response = admin_client.post(
        "/settings/targets/", {**form, "metric": "entered:mql", "ends_on": "2026-01-01"}
    )
    assert b"The period ends before it starts." in response.content
    response = admin_client.post("/settings/targets/", {**form, "metric": "grr", "value": "90"})
    assert b"A GRR target is a share" in response.content
    team = Team.objects.get(key=Team.MARKETING)
    response = admin_client.post(
        "/settings/targets/", {**form, "metric": "entered:mql", "team": team.pk}, follow=True
    )
    assert b"The target is added" in response.content
    target = Target.objects.get()
    assert (target.metric, target.team, target.value) == ("entered:mql", team, 100.0)
    assert b"data-confirm=" in response.content
    response = admin_client.post(f"/settings/targets/{target.pk}/delete", follow=True)
    assert b"The target is deleted." in response.content
    assert not Target.objects.exists()


def test_fiscal_year_and_bands(admin_client, people):
    form = {
        "part": "settings",
        "fiscal_year_start_month": "1",
        "deal_size_edges": "5000000, 1000000",
        "company_size_edges": "50, 300",
        "small_denominator": "30",
        "gross_margin_percent": "75",
    }
    response = admin_client.post("/settings/targets/", form)
    assert response.status_code == 422 and b"strictly increasing" in response.content
    response = admin_client.post("/settings/targets/", {**form, "deal_size_edges": "1m"})
    assert b"Write whole numbers separated by commas." in response.content
    response = admin_client.post("/settings/targets/", {**form, "deal_size_edges": "1000000, 5000000"})
    assert response.status_code == 302
    row = AnalyticsSettings.load()
    assert (row.fiscal_year_start_month, row.deal_size_edges, row.gross_margin_percent) == (
        1,
        [1000000, 5000000],
        75,
    )
