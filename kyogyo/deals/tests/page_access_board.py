"""Who may open the pipeline board and each deal's page (see kyogyo/web/tests/matrix.py):
every member reads; the deal's owner, the owner's team (Field Sales), managers and admins
change it (``access.can_edit_deal``)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from kyogyo.web.tests.matrix import MEMBERS, Page

DEAL_EDITORS = frozenset({"fs_rep", "manager", "admin"})


def board_deal(data: SimpleNamespace) -> list[Any]:
    """A deal of the matrix's own (made once per test): qualified by Inside Sales, owned by
    the Field Sales rep it was routed to."""
    if not hasattr(data, "board_deal"):
        from django.utils import timezone

        from kyogyo.customers import actions as customers
        from kyogyo.deals.actions import qualify
        from kyogyo.handoffs.actions import accept_handoff
        from kyogyo.handoffs.models import Handoff
        from kyogyo.journey.actions import advance

        now = timezone.now()
        account = customers.create_account(at=now, name="Matrix KK", domain="matrix.example.jp")
        contact = customers.create_contact(at=now, account=account, email="buyer@matrix.example.jp")
        advance(contact, "mql", actor=data.people.marketer, at=now)
        handoff = Handoff.objects.get(subject=contact, status=Handoff.Status.OPEN)
        accept_handoff(handoff, actor=data.people.is_rep, at=now)
        data.board_deal = qualify(contact, actor=data.people.is_rep, name="Matrix pilot", amount=100, at=now)
    return [data.board_deal.pk]


PAGES = {
    "deals:pipeline": Page(read=MEMBERS),
    "deals:deal": Page(read=MEMBERS, write=DEAL_EDITORS, args=board_deal),
    "deals:deal_move": Page(write=DEAL_EDITORS, args=board_deal, data={"stage": "proposal"}),
    "deals:deal_win": Page(write=DEAL_EDITORS, args=board_deal),
    "deals:deal_lose": Page(write=DEAL_EDITORS, args=board_deal, data={"reason": "price"}),
}
