"""Pages of a list without counting the whole table: one row more than a page is fetched to
know whether there is a next page, so page one of a million rows costs what page one of a
hundred does. Deep pages are reached by narrowing filters, as people do."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db.models import QuerySet
from django.http import HttpRequest

T = TypeVar("T")

DEFAULT_PER_PAGE = 50
MAX_PAGE = 10_000


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    number: int
    per_page: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def next_number(self) -> int:
        return self.number + 1

    @property
    def previous_number(self) -> int:
        return self.number - 1

    @property
    def first_index(self) -> int:
        return (self.number - 1) * self.per_page + 1 if self.items else 0

    @property
    def last_index(self) -> int:
        return (self.number - 1) * self.per_page + len(self.items)


def page_number(request: HttpRequest) -> int:
    """The requested page: anything that is not a whole number from 1 on reads as page 1."""
    raw = request.GET.get("page", "1")
    if not raw.isdigit():
        return 1
    return min(max(int(raw), 1), MAX_PAGE)


def paginate(request: HttpRequest, rows: QuerySet[Any], per_page: int = DEFAULT_PER_PAGE) -> Page[Any]:
    number = page_number(request)
    start = (number - 1) * per_page
    fetched = list(rows[start : start + per_page + 1])
    return Page(items=fetched[:per_page], number=number, per_page=per_page, has_next=len(fetched) > per_page)
