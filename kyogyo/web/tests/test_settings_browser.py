"""The settings pages in a real browser, in both languages: every page (with its empty
states) screenshotted and checked for untranslated Japanese, the rule validator's problems
with their paths, the preview before publishing, a token's secret shown once, an import
with a bad row and its error file, a confirmation, and a member's denial."""

from __future__ import annotations

from pathlib import Path

import pytest
from django_q.conf import Conf

from kyogyo.api.models import ApiToken
from kyogyo.imports.models import ImportUpload
from kyogyo.journey.models import Rule, Stage
from kyogyo.org.models import Team

LANGUAGES = ["en", "ja"]
BAD_RULE = "key: web-mql\nstage: mql\nfrom: [lead, opportunity]\nwhen: {field: account.industry, op: gte, value: 5}\n"
GOOD_RULE = (
    "key: web-mql\nstage: mql\nfrom: [lead]\npriority: 40\n"
    "when: {field: account.employee_count, op: gte, value: 100}\n"
)
CSV = (
    "external_id,email,first_name,last_name,account_name,account_domain\n"
    "c1,hana@acme.example.jp,Hana,Sato,Acme,acme.example.jp\n"
    "c2,not-an-email,Ken,Ito,Acme,acme.example.jp\n"
)


def pages(people) -> list[tuple[str, str]]:
    team = Team.objects.get(key=Team.INSIDE_SALES)
    stage = Stage.objects.get(key="sal")
    return [
        ("settings", "/settings/"),
        ("settings-users", "/settings/users/"),
        ("settings-user", f"/settings/users/{people.is_rep.pk}/"),
        ("settings-team", f"/settings/teams/{team.pk}/"),
        ("settings-stages", "/settings/stages/"),
        ("settings-stage", f"/settings/stages/{stage.pk}/"),
        ("settings-rule", "/settings/rules/mql-fit-engagement/"),
        ("settings-reasons", "/settings/reasons/"),
        ("settings-sla", "/settings/sla/"),
        ("settings-scoring", "/settings/scoring/"),
        ("settings-targets", "/settings/targets/"),
        ("settings-tokens", "/settings/tokens/"),
        ("settings-webhooks", "/settings/webhooks/"),
        ("imports", "/imports/"),
    ]


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_settings_page(browse, people, language):
    tab = browse(people.admin, language=language)
    for name, path in pages(people):
        response = tab.goto(path)
        assert response.status == 200, path
        tab.shot(name)
        if language == "ja":
            tab.assert_translated()


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_rule_validator_shows_problems_with_their_paths(browse, people, language):
    tab = browse(people.admin, language=language)
    tab.goto("/settings/rules/new/")
    tab.page.fill("textarea[name=text]", BAD_RULE)
    tab.page.click("#rule-form button[value=preview]")
    problems = tab.page.locator("#rule-problems")
    problems.wait_for()
    paths = problems.locator("code.path").all_inner_texts()
    assert "when.op" in paths and "from[1]" in paths
    tab.shot("settings-rule-problems")
    if language == "ja":
        tab.assert_translated()
    assert not Rule.objects.filter(key="web-mql").exists()


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_rule_preview_comes_before_publishing(browse, people, make_contact, language):
    make_contact(employees=500)
    tab = browse(people.admin, language=language)
    tab.goto("/settings/rules/new/")
    assert tab.page.locator("#publish").count() == 0
    tab.page.fill("textarea[name=text]", GOOD_RULE)
    tab.page.click("#rule-form button[value=preview]")
    tab.page.locator("#rule-preview").wait_for()
    assert tab.page.locator("#rule-preview .would-change").inner_text() == "1"
    tab.shot("settings-rule-preview")
    if language == "ja":
        tab.assert_translated()
    assert not Rule.objects.filter(key="web-mql").exists()
    tab.page.click("#publish")
    tab.page.locator(".messages").wait_for()
    assert Rule.objects.get(key="web-mql").current_version.number == 1


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_token_secret_is_shown_once(browse, people, language):
    tab = browse(people.is_rep, language=language)
    tab.goto("/settings/tokens/")
    tab.page.fill("input[name=name]", "spreadsheet")
    tab.page.click("main button[type=submit].primary")
    secret = tab.page.locator("#new-secret code").inner_text()
    assert secret.startswith("kyg_")
    tab.shot("settings-token-created")
    if language == "ja":
        tab.assert_translated()
    tab.goto("/settings/tokens/")
    assert secret not in tab.page.content()
    tab.page.on("dialog", lambda dialog: dialog.accept())  # the confirmation
    tab.page.click(f"#token-{ApiToken.objects.get().pk} button.danger")
    tab.page.locator(".messages").wait_for()
    assert not ApiToken.objects.get().is_active


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_import_with_a_bad_row_offers_the_error_file(
    browse, people, language, monkeypatch, settings, tmp_path
):
    monkeypatch.setattr(Conf, "SYNC", True)  # the worker's task runs in the request
    settings.KYOGYO_IMPORT_DIR = tmp_path / "imports"
    path = tmp_path / "leads.csv"
    path.write_text(CSV, encoding="utf-8")
    tab = browse(people.marketer, language=language)
    tab.goto("/imports/")
    tab.page.select_option("select[name=kind]", "contacts")
    tab.page.select_option("select[name=preset]", "generic")
    tab.page.set_input_files("input[name=file]", str(path))
    tab.page.uncheck("input[name=dry_run]")
    tab.page.click("#upload-form button[type=submit]")
    tab.page.locator("#error-file").wait_for()
    tab.shot("import-done")
    if language == "ja":
        tab.assert_translated()
    upload = ImportUpload.objects.get()
    assert (upload.summary["created"], upload.summary["errors"]) == (1, 1)
    with tab.page.expect_download() as download:
        tab.page.click("#error-file")
    assert "bad_email" in Path(download.value.path()).read_text(encoding="utf-8")


def test_members_are_shown_the_403_page(browse, people):
    tab = browse(people.is_rep, language="ja")
    for path in ("/settings/users/", "/settings/rules/new/", "/settings/webhooks/"):
        response = tab.goto(path)
        assert response.status == 403
        assert tab.page.locator(".denied").is_visible()
        tab.assert_translated()
    tab.shot("settings-denied")


def test_a_validation_error_in_japanese(browse, people):
    tab = browse(people.admin, language="ja")
    tab.goto("/settings/webhooks/")
    tab.page.fill("input[name=url]", "http://127.0.0.1/hook")
    tab.page.check("input[name=events][value='*']")
    tab.page.click("main button[type=submit].primary")
    tab.page.locator(".field.invalid .error").wait_for()
    tab.shot("settings-webhook-refused")
    tab.assert_translated()
