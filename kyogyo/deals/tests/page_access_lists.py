"""Who may open the list of deals, its export and bulk actions (see kyogyo/web/tests/matrix.py)."""

from kyogyo.web.tests.matrix import MEMBERS, Page

PAGES = {
    "deals:list": Page(read=MEMBERS),
    "deals:export": Page(read=MEMBERS),
    "deals:bulk": Page(write=MEMBERS, data={"action": "assign"}),
}
