"""Settings → stages and rules, reason codes over HTTP: the rule editor shows the
validator's problems with their paths, previews who would qualify and change stage before
anything is saved, and publishes exactly what was previewed (all or nothing)."""

from __future__ import annotations

import pytest

from kyogyo.journey.models import ReasonCode, Rule, Stage
from kyogyo.journey.settings_views import fingerprint

PAYLOAD = '<script>alert(1)</script><img src=x onerror="alert(2)">'
RULE = """key: web-mql
stage: mql
from: [lead]
priority: 40
when: {field: account.employee_count, op: gte, value: 100}
"""
BAD_RULE = """key: web-mql
stage: mql
from: [lead, opportunity]
when:
  all:
    - {field: account.industry, op: gte, value: 5}
"""


@pytest.fixture
def admin_client(client, people):
    client.force_login(people.admin)
    return client


@pytest.mark.parametrize(
    "path", ["/settings/stages/", "/settings/rules/new/", "/settings/rules/dq-partner/", "/settings/reasons/"]
)
def test_members_get_the_403_page(client, people, path):
    client.force_login(people.is_rep)
    assert client.get(path).status_code == 403
    assert client.post(path, {"text": RULE, "step": "preview"}).status_code == 403


def test_stages_page_lists_stages_and_rules(admin_client, people, django_assert_max_num_queries):
    with django_assert_max_num_queries(10):
        html = admin_client.get("/settings/stages/").content.decode()
    assert 'id="stage-mql"' in html and 'id="rule-dq-partner"' in html


def test_a_stage_is_renamed_and_its_stall_days_validated(admin_client, people):
    stage = Stage.objects.get(key="sal")
    response = admin_client.post(f"/settings/stages/{stage.pk}/", {"name": PAYLOAD, "stall_days": "0"})
    assert response.status_code == 422
    assert b"Ensure this value is greater than or equal to 1." in response.content
    response = admin_client.post(
        f"/settings/stages/{stage.pk}/", {"name": PAYLOAD, "name_ja": "受付", "stall_days": "7"}
    )
    assert response.status_code == 302
    stage.refresh_from_db()
    assert (stage.name, stage.stall_days) == (PAYLOAD, 7)
    html = admin_client.get("/settings/stages/").content.decode()
    assert PAYLOAD not in html and "&lt;script&gt;" in html


def test_an_invalid_rule_shows_every_problem_with_its_path_and_saves_nothing(admin_client, people):
    response = admin_client.post("/settings/rules/new/", {"text": BAD_RULE, "step": "publish"})
    assert response.status_code == 422
    html = response.content.decode()
    assert '<code class="path">when.all[0].op</code>' in html
    assert '<code class="path">from[1]</code>' in html
    assert "Nothing was saved." in html
    assert not Rule.objects.filter(key="web-mql").exists()


def test_unreadable_yaml_is_said_clearly(admin_client, people):
    response = admin_client.post("/settings/rules/new/", {"text": "key: [unclosed", "step": "preview"})
    assert response.status_code == 422
    assert b"not valid YAML or JSON" in response.content


def test_preview_counts_who_would_qualify_and_move_before_saving(admin_client, people, make_contact):
    make_contact(employees=500, email="big@corp.example.jp")
    make_contact(employees=10, email="small@shop.example.jp")
    response = admin_client.post("/settings/rules/new/", {"text": RULE, "step": "preview"})
    assert response.status_code == 200
    preview = response.context["previews"][0][0]
    assert (preview.evaluated, preview.qualifying) == (2, 1)
    html = response.content.decode()
    assert 'id="rule-preview"' in html and "big@corp.example.jp" in html and "small@shop" not in html
    assert f'value="{fingerprint(RULE)}"' in html and 'id="publish"' in html
    assert not Rule.objects.filter(key="web-mql").exists()


def test_publish_needs_a_preview_of_the_same_text(admin_client, people):
    response = admin_client.post(
        "/settings/rules/new/", {"text": RULE, "step": "publish", "previewed": fingerprint("other")}
    )
    assert response.status_code == 200
    assert b"The rule changed after its preview" in response.content
    assert not Rule.objects.filter(key="web-mql").exists()
    response = admin_client.post(
        "/settings/rules/new/",
        {"text": RULE, "step": "publish", "previewed": fingerprint(RULE), "note": "bigger companies"},
        follow=True,
    )
    assert (
        b'Published <span translate="no">web-mql</span> version <span translate="no">1</span>.'
        in response.content
    )
    rule = Rule.objects.get(key="web-mql")
    assert rule.current_version.note == "bigger companies" and rule.current_version.created_by == people.admin


def test_an_existing_rule_opens_as_its_rule_file_and_gets_a_new_version(admin_client, people):
    rule = Rule.objects.get(key="dq-partner")
    html = admin_client.get("/settings/rules/dq-partner/").content.decode()
    assert "key: dq-partner" in html and "reason: partner" in html
    text = html.split('name="text"', 1)[1].split(">", 1)[1].split("</textarea>", 1)[0]
    import html as html_module

    text = html_module.unescape(text).lstrip("\n")
    admin_client.post(
        "/settings/rules/dq-partner/", {"text": text, "step": "publish", "previewed": fingerprint(text)}
    )
    rule.refresh_from_db()
    assert rule.current_version.number == 2


def test_a_rule_is_switched_off_and_on(admin_client, people):
    admin_client.post("/settings/rules/dq-partner/active", {"active": "0"})
    assert not Rule.objects.get(key="dq-partner").active
    response = admin_client.post("/settings/rules/dq-partner/active", {"active": "1"}, follow=True)
    assert b"moves people again" in response.content
    assert Rule.objects.get(key="dq-partner").active


def test_unknown_rules_and_stages_answer_404(admin_client, people):
    assert admin_client.get("/settings/rules/nope/").status_code == 404
    assert admin_client.get("/settings/stages/99999/").status_code == 404


def test_reasons_are_added_validated_and_switched_off_not_deleted(admin_client, people):
    nurture = Stage.objects.get(key="nurture")
    response = admin_client.post(
        "/settings/reasons/",
        {"kind": "loss", "key": "web-price", "label": "x", "sends_to": nurture.pk, "order": 0},
    )
    assert response.status_code == 422
    assert b"Only reasons for rejecting a handoff send people to a stage." in response.content, (
        response.context["form"].errors
    )
    response = admin_client.post(
        "/settings/reasons/",
        {"kind": "reject", "key": "wrong_person", "label": PAYLOAD, "order": 3},
        follow=True,
    )
    assert b'The reason <span translate="no">wrong_person</span> is added.' in response.content
    assert PAYLOAD.encode() not in response.content
    reason = ReasonCode.objects.get(key="wrong_person")
    response = admin_client.post(
        "/settings/reasons/", {"kind": "reject", "key": "wrong_person", "label": "again", "order": 0}
    )
    assert b"There is already a reason with this key" in response.content
    admin_client.post(f"/settings/reasons/{reason.pk}/", {"label": "Wrong person", "order": 3})
    reason.refresh_from_db()
    assert (reason.label, reason.active) == ("Wrong person", False)
