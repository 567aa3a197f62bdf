"""Who may open each person's and company's page (see kyogyo/web/tests/matrix.py)."""

from kyogyo.web.tests.matrix import Page

PAGES = {
    "customers:contact": Page(args=lambda d: [d.contact.pk]),
    "customers:account": Page(args=lambda d: [d.account.pk]),
}
