"""On PostgreSQL, the lists' sorts and the search's prefix matches run on their indexes
(kyogyo/web/indexes.py): with enough rows for the planner to care, EXPLAIN names them."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import F

from kyogyo.customers.models import Contact
from kyogyo.web import lists

pytestmark = pytest.mark.postgres

ROWS = 50_000


@pytest.fixture
def many_people(defaults):
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO customers_contact (email, first_name, last_name, title, phone, consent, source,
                fit_score, engagement_score, created_at, last_activity_at)
            SELECT 'p' || n || '@example.jp', 'Given' || n, 'Family' || n, '', '', 'unknown', 'web',
                0, 0, now() - n * interval '1 minute',
                CASE WHEN n %% 3 = 0 THEN NULL ELSE now() - n * interval '1 hour' END
            FROM generate_series(1, %s) AS n
            """,
            [ROWS],
        )
        cursor.execute("ANALYZE customers_contact")


def plan(queryset) -> str:
    return queryset.explain()


def test_the_search_uses_the_prefix_indexes(many_people):
    found = lists.person_match(Contact.objects.all(), "family4242").order_by("id")[:11]
    text = plan(found)
    assert "contact_last_prefix" in text, text
    assert len(list(found)) == 11  # family4242, family42420 …


def test_recently_active_first_walks_its_index(many_people):
    rows = Contact.objects.order_by(F("last_activity_at").desc(nulls_last=True), "-id")[:51]
    text = plan(rows)
    assert "contact_last_activity" in text, text
    assert "Sort" not in text.split("Index")[0], text  # no sort of the whole table before the limit


def test_the_name_sort_walks_its_index(many_people):
    text = plan(Contact.objects.order_by("last_name", "first_name", "id")[:51])
    assert "contact_name_sort" in text, text


# --- the stage filter, the handoffs' due order, the latest NPS answers --------------------


@pytest.fixture
def staged_people(many_people):
    """Every one of the 50,000 people has a milestone: all leads but one MQL."""
    from kyogyo.journey.models import Stage

    lead, mql = Stage.ids_where(key="lead")[0], Stage.ids_where(key="mql")[0]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO journey_milestone (subject_id, current_stage_id, current_since, first_entered,
                entries, reentry_count, transition_count, last_hash)
            SELECT id, CASE WHEN id = (SELECT min(id) FROM customers_contact) THEN %s ELSE %s END,
                created_at, '{}', '{}', 0, 1, ''
            FROM customers_contact
            """,
            [mql, lead],
        )
        cursor.execute("ANALYZE journey_milestone")


def test_people_filtered_by_a_small_stage_read_that_stage_only(client, people, staged_people):
    """Through the stage's id the planner knows MQL holds one person in 50,000: it reads that
    stage's rows by index, never the milestones newest first (all of them, for a join on the key)."""
    from kyogyo.customers.list_views import PEOPLE, people_rows
    from kyogyo.org import restricted
    from kyogyo.web.lists import read

    state = read(PEOPLE, {"stage": "mql"}, people_rows(), restricted.policy(people.admin))
    text = plan(state.rows[:51])
    assert "journey_mil_current_db4552_idx" in text, text
    assert "Backward using journey_milestone_pkey" not in text, text
    assert len(list(state.rows[:51])) == 1


@pytest.fixture
def many_handoffs(many_people, people):
    """A handoff for each of the 50,000 people, after their move to MQL, due a day later."""
    from kyogyo.journey.models import Stage
    from kyogyo.org.models import Team

    mql = Stage.ids_where(key="mql")[0]
    marketing, sales = Team.objects.get(key=Team.MARKETING), Team.objects.get(key=Team.INSIDE_SALES)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO journey_transition (seq, at, via, note, is_reentry, hash, subject_id, to_stage_id)
            SELECT 0, created_at, 'system', '', false, '', id, %s FROM customers_contact
            """,
            [mql],
        )
        cursor.execute(
            """
            INSERT INTO handoffs_handoff (created_at, due_at, status, note, from_team_id, to_team_id,
                stage_id, subject_id, transition_id)
            SELECT t.at, t.at + interval '1 day', CASE WHEN t.id %% 2 = 0 THEN 'accepted' ELSE 'open' END,
                '', %s, %s, %s, t.subject_id, t.id
            FROM journey_transition t
            """,
            [marketing.pk, sales.pk, mql],
        )
        cursor.execute("ANALYZE handoffs_handoff")


def test_the_handoffs_due_first_walk_their_index(many_handoffs):
    from kyogyo.handoffs.list_views import handoff_rows

    text = plan(handoff_rows().order_by("due_at", "id")[:51])
    assert "handoff_due" in text, text
    assert "Sort" not in text.split("Index")[0], text


def test_the_latest_nps_answers_walk_their_index(many_people):
    from kyogyo.success.forms import NpsFilterForm, filtered_nps

    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO success_npsresponse (score, comment, answered_at, contact_id)
            SELECT id %% 11, '', created_at, id FROM customers_contact
            """,
            [],
        )
        cursor.execute("ANALYZE success_npsresponse")
    text = plan(filtered_nps(NpsFilterForm({}))[:5])
    assert "nps_answered" in text, text
    assert "Sort" not in text.split("Index")[0], text
