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
