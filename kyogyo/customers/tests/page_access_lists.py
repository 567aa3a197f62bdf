"""Who may open the lists of people and companies, their exports and bulk actions (see
kyogyo/web/tests/matrix.py). A bulk post without a selection answers with the list again."""

from kyogyo.web.tests.matrix import MEMBERS, Page

PAGES = {
    "customers:contacts": Page(read=MEMBERS),
    "customers:contacts_export": Page(read=MEMBERS),
    "customers:contacts_bulk": Page(write=MEMBERS, data={"action": "assign"}),
    "customers:accounts": Page(read=MEMBERS),
    "customers:accounts_export": Page(read=MEMBERS),
}
