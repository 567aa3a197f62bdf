"""Who may open the pipeline board and each deal's page (see kyogyo/web/tests/matrix.py)."""

from kyogyo.web.tests.matrix import Page

PAGES = {
    "deals:deal": Page(args=lambda d: [d.contact.pk]),
}
