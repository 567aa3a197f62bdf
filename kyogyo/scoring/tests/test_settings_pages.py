"""Settings → scoring over HTTP: fit rules checked by the rule validator, engagement
weights and half-life; admins only."""

from __future__ import annotations

import pytest

from kyogyo.journey import rulebook
from kyogyo.scoring.models import EngagementWeight, FitRule, ScoringSettings

PAYLOAD = "<script>alert(1)</script>"


@pytest.fixture
def admin_client(client, people):
    client.force_login(people.admin)
    return client


def test_members_get_the_403_page(client, people):
    client.force_login(people.marketer)
    assert client.get("/settings/scoring/").status_code == 403
    rule = FitRule.objects.first()
    assert client.post(f"/settings/scoring/fit/{rule.pk}/", {"label": "x"}).status_code == 403


def test_a_fit_rule_with_a_bad_condition_is_refused_with_its_path(admin_client, people):
    form = {
        "label": "Big",
        "condition": "{field: account.employee_count, op: starts_with, value: 5}",
        "points": "5",
        "order": "0",
    }
    response = admin_client.post("/settings/scoring/", form)
    assert response.status_code == 422
    assert b"op:" in response.content
    response = admin_client.post("/settings/scoring/", {**form, "condition": "{field: [unclosed"})
    assert b"Not valid YAML or JSON" in response.content


def test_a_fit_rule_is_added_and_counts(admin_client, people):
    form = {
        "label": PAYLOAD,
        "condition": "{field: account.country, op: eq, value: JP}",
        "points": "7",
        "order": "9",
        "active": "on",
    }
    response = admin_client.post("/settings/scoring/", form, follow=True)
    assert b"The fit rule is added" in response.content
    assert PAYLOAD.encode() not in response.content
    assert any(spec.points == 7 for spec in rulebook.load().scoring.fit_rules)


def test_a_fit_rule_is_edited_and_switched_off(admin_client, people):
    rule = FitRule.objects.first()
    page = admin_client.get(f"/settings/scoring/fit/{rule.pk}/").content.decode()
    assert "account.employee_count" in page
    form = {
        "label": "Changed",
        "condition": '{"field": "account.country", "op": "eq", "value": "JP"}',
        "points": "3",
        "order": "0",
    }
    assert admin_client.post(f"/settings/scoring/fit/{rule.pk}/", form).status_code == 302
    rule.refresh_from_db()
    assert (rule.label, rule.points, rule.active) == ("Changed", 3, False)


def test_engagement_weights_and_half_life(admin_client, people):
    form = {
        kind: "0"
        for kind in (
            "web_visit",
            "content_download",
            "form_submission",
            "email_open",
            "email_click",
            "event",
            "call",
            "meeting",
            "demo",
            "product_usage",
            "support_ticket",
            "survey_answer",
            "note",
        )
    }
    response = admin_client.post("/settings/scoring/", {**form, "part": "engagement", "half_life_days": "0"})
    assert response.status_code == 422
    response = admin_client.post(
        "/settings/scoring/", {**form, "part": "engagement", "half_life_days": "14", "demo": "25"}
    )
    assert response.status_code == 302
    assert dict(EngagementWeight.objects.values_list("activity_type", "points")) == {"demo": 25.0}
    assert ScoringSettings.objects.get(pk=1).half_life_days == 14
