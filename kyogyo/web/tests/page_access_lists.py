"""Who may search and keep saved views (see kyogyo/web/tests/matrix.py): every member; a
saved view is changed by its owner (here the marketer, who shares it) and admins."""

from types import SimpleNamespace

from kyogyo.web.models import SavedView
from kyogyo.web.tests.matrix import MEMBERS, Page


def marketers_shared_view(data: SimpleNamespace) -> list[int]:
    view = SavedView.objects.create(
        owner=data.people.marketer, list_name="people", name="MQLs", query="stage=mql", shared=True
    )
    return [view.pk]


PAGES = {
    "web:search": Page(read=MEMBERS),
    "web:saved_views": Page(
        write=MEMBERS, data={"list_name": "people", "name": "Mine", "query": "stage=mql"}
    ),
    "web:saved_view": Page(
        write=frozenset({"marketer", "admin"}), args=marketers_shared_view, data={"name": "Renamed"}
    ),
}
