"""Stored text on the settings pages is shown as text: the XSS corpus in team, user, stage,
reason, fit-rule, routing-rule, token, endpoint, delivery-error and import file names
renders inert in the HTML of every settings page."""

from __future__ import annotations

import datetime as dt
import uuid
from types import SimpleNamespace

import pytest

from kyogyo.api.actions import create_token
from kyogyo.handoffs.models import BusinessCalendar, CalendarException, RoutingRule
from kyogyo.imports.models import ImportUpload
from kyogyo.journey.models import ReasonCode, Stage
from kyogyo.org.models import Team, User
from kyogyo.scoring.models import FitRule
from kyogyo.web.xss_corpus import payloads, unescaped_markup
from kyogyo.webhooks.models import Delivery, Endpoint

CORPUS = payloads()


@pytest.fixture
def poisoned(people):
    words = iter(CORPUS)
    for team in Team.objects.all():
        team.name, team.name_ja = next(words)[:100], next(words)[:100]
        team.save()
    for user in User.objects.all():
        user.first_name, user.last_name, user.email = next(words)[:150], next(words)[:150], "x@example.jp"
        user.save()
    for stage in Stage.objects.all():
        stage.name, stage.name_ja = next(words)[:100], next(words)[:100]
        stage.save()
    for reason in ReasonCode.objects.all():
        reason.label, reason.label_ja = next(words)[:150], next(words)[:150]
        reason.save()
    for rule in FitRule.objects.all():
        rule.label, rule.label_ja = next(words)[:150], next(words)[:150]
        rule.save()
    calendar, _ = BusinessCalendar.objects.get_or_create(pk=1, defaults={"weekdays": [0, 1, 2, 3, 4]})
    CalendarException.objects.create(calendar=calendar, date=dt.date(2026, 12, 30), name=next(words)[:100])
    routing = RoutingRule.objects.create(team=people.is_rep.team, name=next(words)[:100])
    routing.users.set([people.is_rep])
    create_token(people.admin, name=next(words)[:100], scope="read", actor=people.admin)
    endpoint = Endpoint.objects.create(
        url="https://hooks.invalid/", secret="s" * 32, events=["*"], description=next(words)[:200]
    )
    Delivery.objects.create(
        endpoint=endpoint,
        event_id=uuid.uuid4(),
        event_type="deal.won",
        body="{}",
        status="failed",
        error=next(words),
    )
    ImportUpload.objects.create(
        user=people.admin,
        kind="contacts",
        file_name=next(words)[:255],
        stored_path="/x",
        size=1,
        status="failed",
        error_message=next(words),
    )
    return SimpleNamespace(endpoint_id=endpoint.pk, upload_id=ImportUpload.objects.get().pk)


@pytest.mark.parametrize("language", ["en", "ja"])
def test_the_settings_pages_show_the_corpus_as_text(client, people, poisoned, language):
    people.admin.language = language
    people.admin.save()
    client.force_login(people.admin)
    paths = [
        "/settings/users/",
        f"/settings/users/{people.is_rep.pk}/",
        "/settings/stages/",
        "/settings/reasons/",
        "/settings/sla/",
        "/settings/scoring/",
        "/settings/tokens/",
        "/settings/webhooks/",
        f"/settings/webhooks/{poisoned.endpoint_id}/",
        "/imports/",
        f"/imports/{poisoned.upload_id}/",
    ]
    for path in paths:
        html = client.get(path).content.decode()
        assert "&lt;" in html, path
        assert unescaped_markup(html) == [], path
