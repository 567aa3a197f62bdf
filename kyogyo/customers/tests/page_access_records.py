"""Who may open each person's and company's page and use its forms (see
kyogyo/web/tests/matrix.py). Every member reads the record and writes notes
(``access.can_read_records``, ``access.can_add_note``); the outsider gets a 404, as for an
unknown id. Moving the person and ticking their exit checklist belong to the team that owns
their stage (the matrix's person waits as MQL: Marketing), their owner and managers."""

from types import SimpleNamespace

from kyogyo.journey.models import PlaybookItem
from kyogyo.journey.playbook import install_playbook
from kyogyo.web.tests.matrix import MEMBERS, Page

STAGE_OWNERS = frozenset({"marketer", "manager", "admin"})


def _mql_check(data: SimpleNamespace) -> list[int]:
    install_playbook()
    item = PlaybookItem.objects.filter(stage="mql", kind=PlaybookItem.Kind.EXIT).order_by("order").first()
    assert item is not None
    return [data.contact.pk, item.pk]


PAGES = {
    "customers:contact": Page(read=MEMBERS, args=lambda d: [d.contact.pk]),
    "customers:contact_note": Page(write=MEMBERS, args=lambda d: [d.contact.pk], data={"body": "Called."}),
    "customers:contact_move": Page(write=STAGE_OWNERS, args=lambda d: [d.contact.pk], data={"to": "nurture"}),
    "customers:contact_check": Page(write=STAGE_OWNERS, args=_mql_check, data={"done": "1"}),
    "customers:account": Page(read=MEMBERS, args=lambda d: [d.account.pk]),
    "customers:account_note": Page(write=MEMBERS, args=lambda d: [d.account.pk], data={"body": "Called."}),
}
