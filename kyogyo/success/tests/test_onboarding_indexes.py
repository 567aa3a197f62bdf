"""On PostgreSQL the new-customer list walks the milestones' (current stage, since) index
in order, one stage at a time, and stops after a page: with 30,000 people, of whom 600 are
in onboarding (half of their companies paying already), EXPLAIN names the index and the
pages come out oldest first."""

from __future__ import annotations

import pytest
from django.db import connection

from kyogyo.journey.models import Stage
from kyogyo.success import onboarding

pytestmark = pytest.mark.postgres

PEOPLE = 30_000


@pytest.fixture
def many_people(defaults):
    stages = dict(Stage.objects.values_list("key", "pk"))
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO customers_account (name, domain, industry, employee_count, country, segment, kind, created_at)
            SELECT 'Company ' || n, 'c' || n || '.example.jp', '', 10, 'JP', '', 'prospect', now()
            FROM generate_series(1, %s) AS n
            """,
            [PEOPLE],
        )
        cursor.execute(
            """
            INSERT INTO customers_contact (email, first_name, last_name, title, phone, consent, source,
                fit_score, engagement_score, created_at, account_id)
            SELECT 'p' || a.id || '@example.jp', 'Given', 'Family', '', '', 'unknown', 'web', 0, 0, now(), a.id
            FROM customers_account a
            """
        )
        cursor.execute(
            """
            INSERT INTO journey_milestone (subject_id, account_id, current_stage_id, current_since,
                first_entered, entries, reentry_count, transition_count, last_hash)
            SELECT c.id, c.account_id, CASE WHEN c.id %% 50 = 0 THEN %s ELSE %s END,
                now() - (c.id %% 997) * interval '1 hour', '{}', '{}', 0, 1, 'x'
            FROM customers_contact c
            """,
            [stages["onboarding"], stages["lead"]],
        )
        cursor.execute(
            """
            INSERT INTO success_subscription (plan, mrr, currency, billing_period, starts_on, status, account_id)
            SELECT 'Pro', 1000, 'JPY', 'monthly', current_date, 'active', c.account_id
            FROM customers_contact c WHERE c.id % 100 = 0
            """
        )
        cursor.execute("ANALYZE")
    return stages


def test_each_stage_is_read_in_index_order(many_people):
    text = onboarding.waiting(stage_ids=[many_people["onboarding"]])[:26].explain()
    assert "journey_mil_current_db4552_idx" in text, text
    # not every onboarding person gathered and sorted (a one-row stage lookup may use a bitmap)
    assert "Bitmap Heap Scan on journey_milestone" not in text, text


def test_the_pages_are_the_waiting_people_oldest_first(many_people):
    expected = list(onboarding.waiting().values_list("subject_id", flat=True))
    assert len(expected) == 300  # 600 in onboarding, half of their companies paying
    shown = []
    for number in range(1, 14):
        rows, more = onboarding.page(number)
        shown += [row.contact.pk for row in rows]
        assert more == (number < 12)
    assert shown == expected
