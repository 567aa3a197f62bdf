"""Two people saving the same deal from its page at the same moment (PostgreSQL, real row
locks): one save wins, the other is told (409) and shown the winner's values."""

from __future__ import annotations

import pytest

from kyogyo.deals.models import Deal
from kyogyo.deals.tests.test_board import signed_in
from kyogyo.handoffs.tests.test_concurrency import queued_behind

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_saves_at_once_one_wins_the_other_sees_the_current_state(people, deal_in):
    deal = deal_in("discovery", amount=1_000_000, name="Pilot")
    first, second = signed_in(people.fs_rep), signed_in(people.manager)
    base = {"currency": "JPY", "probability": "", "expected_close": "", "owner": str(deal.owner_id)}
    base |= {"next_step": "", "version": "1", "name": "Pilot"}

    outcomes = queued_behind(
        lambda: Deal.objects.select_for_update().get(pk=deal.pk),
        lambda: first.post(f"/deals/{deal.pk}/", {**base, "amount": "2000000"}),
        lambda: second.post(f"/deals/{deal.pk}/", {**base, "amount": "3000000"}),
    )

    assert [kind for kind, _ in outcomes] == ["ok", "ok"], outcomes
    answers = [response for _, response in outcomes]
    assert sorted(r.status_code for r in answers) == [302, 409]
    stored = Deal.objects.get(pk=deal.pk)
    assert stored.version == 2
    loser = next(r for r in answers if r.status_code == 409)
    html = loser.content.decode()
    shown_now = f"¥{stored.amount:,}"
    assert shown_now in html  # the winner's amount, as saved now
    typed = "3000000" if stored.amount == 2_000_000 else "2000000"
    assert f'value="{typed}"' in html  # the loser's input is kept in the form
