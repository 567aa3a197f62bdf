"""Saving, renaming and deleting the saved views of the lists (the pages' own records)."""

from __future__ import annotations

from django.db import transaction
from django.http import QueryDict

from kyogyo.org import access
from kyogyo.org.models import User
from kyogyo.web.models import SavedView

MAX_NAME = 100
MAX_QUERY = 2000


class SavedViewError(ValueError):
    def __init__(self, code: str, message: str):
        self.code = code
        super().__init__(message)


def _name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise SavedViewError("bad_view_name", f"a view needs a name of 1 to {MAX_NAME} characters")
    return name


def save_view(*, owner: User, list_name: str, name: str, query: str, shared: bool = False) -> SavedView:
    if not access.can_read_records(owner):
        raise SavedViewError("forbidden", "only members of a team keep views of the lists")
    if list_name not in SavedView.ListName.values:
        raise SavedViewError("bad_list", f"no list is called {list_name!r}")
    # kept re-encoded: a query string and nothing else, whatever was posted
    query = QueryDict(query.lstrip("?")).urlencode()
    if len(query) > MAX_QUERY:
        raise SavedViewError("too_long", "the filters of this view are too long to keep")
    return SavedView.objects.create(
        owner=owner, list_name=list_name, name=_name(name), query=query, shared=shared
    )


def _check_may_change(view: SavedView, actor: User) -> None:
    if not access.can_change_saved_view(actor, view):
        raise SavedViewError("forbidden", "only the person who saved a view (or an admin) changes it")


@transaction.atomic
def rename_view(view: SavedView, *, actor: User, name: str, shared: bool | None = None) -> SavedView:
    _check_may_change(view, actor)
    view.name = _name(name)
    if shared is not None:
        view.shared = shared
    view.save(update_fields=["name", "shared"])
    return view


def delete_view(view: SavedView, *, actor: User) -> None:
    _check_may_change(view, actor)
    view.delete()
