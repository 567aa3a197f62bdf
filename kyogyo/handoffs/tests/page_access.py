"""Who may open the list of handoffs, its export and bulk actions (see
kyogyo/web/tests/matrix.py; accept and reject are in the core entries)."""

from kyogyo.web.tests.matrix import MEMBERS, Page

PAGES = {
    "handoffs:list": Page(read=MEMBERS),
    "handoffs:export": Page(read=MEMBERS),
    "handoffs:bulk": Page(write=MEMBERS, data={"action": "accept"}),
}
