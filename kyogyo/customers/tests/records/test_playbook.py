"""The stage playbooks (seeded content), ticking the exit checklist, the stage's why, the
scores explained and what to do next."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from kyogyo.handoffs.models import Handoff
from kyogyo.handoffs.queues import with_countdown
from kyogyo.journey import explain
from kyogyo.journey.models import ChecklistTick, PlaybookItem, Stage
from kyogyo.journey.next_steps import next_steps
from kyogyo.journey.playbook import PlaybookError, playbook_for, tick_check
from kyogyo.marketing.actions import record_activity


def _texts(steps):
    return [step.text for step in steps]


def test_every_main_stage_has_a_full_playbook_in_both_languages(playbook):
    for key in ("lead", "mql", "sal", "sql", "opportunity", "customer"):
        items = PlaybookItem.objects.filter(stage=key)
        assert {item.kind for item in items} == {"question", "objection", "exit"}, key
        assert all(item.text and item.text_ja for item in items)


def test_customer_stages_share_the_customer_playbook(in_sal, playbook):
    onboarding = Stage.objects.get(key="onboarding")
    book = playbook_for(in_sal, onboarding, None)
    assert book.stage_key == "customer" and book.questions and book.checks


def _sal_check(contact):
    stage = Stage.objects.get(key="sal")
    return playbook_for(contact, stage, contact.milestone.current_since).checks[0].item


def test_the_team_working_the_person_ticks_others_may_not(people, in_sal):
    item = _sal_check(in_sal)
    with pytest.raises(PlaybookError) as refused:
        tick_check(in_sal, item, actor=people.fs_rep)
    assert refused.value.code == "forbidden"
    tick = tick_check(in_sal, item, actor=people.is_rep)
    assert tick is not None and tick.ticked_by == people.is_rep
    book = playbook_for(in_sal, in_sal.milestone.current_stage, in_sal.milestone.current_since)
    assert book.checks_done == 1
    tick_check(in_sal, item, actor=people.manager, done=False)
    assert not ChecklistTick.objects.filter(contact=in_sal).exists()
    question = PlaybookItem.objects.filter(stage="sal", kind="question").first()
    with pytest.raises(PlaybookError) as not_a_check:
        tick_check(in_sal, question, actor=people.is_rep)
    assert not_a_check.value.code == "not_a_check"


def test_ticks_from_before_the_person_entered_the_stage_do_not_count(people, in_sal):
    item = _sal_check(in_sal)
    tick_check(in_sal, item, actor=people.is_rep, at=in_sal.milestone.current_since - dt.timedelta(hours=1))
    book = playbook_for(in_sal, in_sal.milestone.current_stage, in_sal.milestone.current_since)
    assert book.checks_done == 0


def test_the_why_of_a_rule_move_names_the_rule_and_version(make_contact):
    student = make_contact(title="Student")
    why = explain.stage_why(student, explain.milestone_of(student))
    assert why is not None and why.stage.key == "disqualified"
    assert why.transition.rule_version.rule.key == "dq-student"
    assert why.transition.rule_version.number >= 1
    assert why.transition.reason.key == "student"


def test_scores_are_explained(story):
    scores = explain.scores(story.customer)
    assert scores.fit == story.customer.fit_score
    assert round(sum(line.points for line in scores.fit_lines)) == scores.fit
    labels = {line.label for line in scores.engagement_lines}
    assert "Call" in labels and "Web visit" in labels
    assert scores.engagement == pytest.approx(sum(line.points for line in scores.engagement_lines))


def _steps_for(contact, user):
    contact.refresh_from_db()
    milestone = explain.milestone_of(contact)
    why = explain.stage_why(contact, milestone)
    handoff = Handoff.objects.filter(subject=contact, status="open").first()
    item = with_countdown([handoff])[0] if handoff else None
    book = playbook_for(contact, milestone.current_stage if milestone else None, None)
    return _texts(next_steps(contact, why, item, book, user))


def test_next_steps_follow_the_stage_the_handoff_and_the_checklist(people, make_contact, walk, in_sal):
    assert _steps_for(in_sal, people.is_rep)[0] == "Book the discovery call."
    assert any(
        text.startswith("Exit checklist: 0 of 4 done. Next:") for text in _steps_for(in_sal, people.is_rep)
    )
    record_activity(in_sal, "call", timezone.now(), actor_id=people.is_rep.pk)
    assert _steps_for(in_sal, people.is_rep)[0].startswith("Qualify the need")

    lead = make_contact(at=timezone.now())
    assert _steps_for(lead, people.marketer)[0].startswith("Check fit and engagement")
    walk(lead, [("mql", timezone.now())])
    assert _steps_for(lead, people.is_rep)[0].startswith("Accept or reject the handoff — ")
    assert _steps_for(lead, people.marketer)[0].startswith("Waiting for Inside Sales")


def test_a_stalled_person_is_said_first(people, make_contact, walk):
    lead = make_contact(at=timezone.now() - dt.timedelta(days=45))
    assert _steps_for(lead, people.marketer)[0].startswith("Stalled: 45 days in this stage (the limit is 30)")
