"""The filters, sorts and page sizes of the list pages (people, companies, deals, handoffs),
read from GET parameters. A list declares its filters and sorts once; the same declaration
draws the filter form, checks the values (a bad value is a message naming it, and the
filter is left out, never a crash) and narrows the query set that the page and its export
read. Sorts are on indexed columns with the id as the tie-breaker, so a page is a walk
along an index, whatever the size of the table."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet
from django.db.models.functions import Lower
from django.http import HttpRequest, QueryDict
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kyogyo.org.restricted import Policy
from kyogyo.web.paging import Page, paginate

PAGE_SIZES = (25, 50, 100)
MAX_TEXT = 100
MIN_SEARCH = 2
# Parameters that are not filters: they never make a list "filtered".
NOT_FILTERS = {"sort", "per_page", "page"}

Choices = Callable[[], Sequence[tuple[str, str]]]


class BadValue(ValueError):
    """A filter value that cannot be used; the message says what is wrong, to the reader."""


@dataclass(frozen=True)
class Filter:
    """One GET parameter: ``kind`` is select (one of ``choices``), date or text."""

    name: str
    label: str | Promise
    apply: Callable[[QuerySet[Any], Any], QuerySet[Any]]
    kind: str = "select"
    choices: Choices | None = None
    translate_choices: bool = True  # False: the choices are data (names), marked translate="no"
    # The ORM paths the filter compares (kyogyo/org/restricted.py keeps hidden values from
    # matching); ``equals``, the date ranges and the searches say theirs themselves.
    reads: tuple[str, ...] = ()
    # a search: ``apply(rows, text, columns)`` matches only on the columns the reader may see
    searches: bool = False

    @property
    def paths(self) -> tuple[str, ...]:
        return self.reads or tuple(getattr(self.apply, "paths", ()))

    def parse(self, raw: str) -> Any:
        raw = raw.strip()
        if self.kind == "date":
            try:
                return dt.date.fromisoformat(raw)
            except ValueError:
                raise BadValue(
                    gettext("%(field)s: “%(value)s” is not a date (YYYY-MM-DD).")
                    % {"field": self.label, "value": raw[:MAX_TEXT]}
                ) from None
        if self.kind == "text":
            if len(raw) > MAX_TEXT:
                raise BadValue(
                    gettext("%(field)s: at most %(count)d characters.")
                    % {"field": self.label, "count": MAX_TEXT}
                )
            return raw
        allowed = {value for value, _label in self.options()}
        if raw not in allowed:
            raise BadValue(
                gettext("%(field)s: “%(value)s” is not one of the choices.")
                % {"field": self.label, "value": raw[:MAX_TEXT]}
            )
        return raw

    def options(self) -> Sequence[tuple[str, str]]:
        return self.choices() if self.choices else ()


@dataclass(frozen=True)
class Sort:
    key: str
    label: str | Promise
    order: tuple[Any, ...]


@dataclass(frozen=True)
class ListSpec:
    name: str  # the saved views' list name: people, companies, deals, handoffs
    filters: tuple[Filter, ...]
    sorts: tuple[Sort, ...]

    @property
    def default_sort(self) -> Sort:
        return self.sorts[0]

    def sort(self, key: str) -> Sort | None:
        return next((s for s in self.sorts if s.key == key), None)


@dataclass
class FieldState:
    filter: Filter
    value: str
    options: Sequence[tuple[str, str]]


@dataclass
class ListState:
    """What the page shows: the narrowed rows, the form's values and any problems."""

    spec: ListSpec
    rows: QuerySet[Any]
    fields: list[FieldState]
    sort: Sort
    per_page: int
    problems: list[str] = field(default_factory=list)
    filtered: bool = False
    page: Page[Any] | None = None

    @property
    def sort_choices(self) -> tuple[Sort, ...]:
        return self.spec.sorts

    @property
    def page_sizes(self) -> tuple[int, ...]:
        return PAGE_SIZES


def read(spec: ListSpec, params: QueryDict, rows: QuerySet[Any], policy: Policy) -> ListState:
    """Apply the list's filters and sort from the GET parameters to ``rows``, as the reader's
    ``policy`` allows: a value they may not see never matches a filter nor orders a sort."""
    problems: list[str] = []
    fields: list[FieldState] = []
    filtered = False
    for item in spec.filters:
        raw = params.get(item.name, "")
        fields.append(FieldState(item, raw, item.options() if item.kind == "select" else ()))
        if not raw.strip():
            continue
        try:
            value = item.parse(raw)
            rows = _filtered(item, rows, value, policy)
        except BadValue as exc:
            problems.append(str(exc))
            continue
        filtered = True
    asked = params.get("sort", "")
    sort = spec.sort(asked) or spec.default_sort
    if asked and spec.sort(asked) is None:
        problems.append(gettext("Unknown sort order; the list is in its usual order."))
    order, refused = policy.ordering(rows.model, sort.order)
    if refused:
        problems.append(
            gettext("%(sort)s: restricted; the list is in its usual order.") % {"sort": sort.label}
        )
        sort = spec.default_sort
        order, _refused = policy.ordering(rows.model, sort.order)
    per_page = _per_page(params.get("per_page", ""), problems)
    return ListState(spec, rows.order_by(*order), fields, sort, per_page, problems, filtered)


def _filtered(item: Filter, rows: QuerySet[Any], value: Any, policy: Policy) -> QuerySet[Any]:
    """``rows`` narrowed by the filter, never matching on a value the reader may not see."""
    paths = item.paths
    if not paths:
        return item.apply(rows, value)
    rows, visible = policy.visible_rows(rows, paths)
    if not visible:
        raise BadValue(
            gettext("%(field)s: restricted; the list is not filtered by it.") % {"field": item.label}
        )
    if item.searches:
        return item.apply(rows, value, tuple(visible))  # type: ignore[call-arg]
    return item.apply(rows, value)


def _per_page(raw: str, problems: list[str]) -> int:
    if not raw:
        return PAGE_SIZES[1]
    if raw.isdigit() and int(raw) in PAGE_SIZES:
        return int(raw)
    problems.append(gettext("Choose 25, 50 or 100 rows a page."))
    return PAGE_SIZES[1]


def page_of(request: HttpRequest, state: ListState) -> ListState:
    state.page = paginate(request, state.rows, state.per_page)
    return state


def saved_query(params: QueryDict) -> str:
    """The query string a saved view keeps: the filters, sort and page size, not the page."""
    kept = params.copy()
    kept.pop("page", None)
    return kept.urlencode()


# --- the building blocks the lists share --------------------------------------------------


def day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _reading(path: str, apply: Callable[[QuerySet[Any], Any], QuerySet[Any]]) -> Any:
    apply.paths = (path,)  # type: ignore[attr-defined]  # what the filter compares (Filter.paths)
    return apply


def on_or_after(path: str) -> Callable[[QuerySet[Any], dt.date], QuerySet[Any]]:
    return _reading(path, lambda rows, day: rows.filter(**{f"{path}__gte": day_start(day)}))


def on_or_before(path: str) -> Callable[[QuerySet[Any], dt.date], QuerySet[Any]]:
    return _reading(
        path, lambda rows, day: rows.filter(**{f"{path}__lt": day_start(day + dt.timedelta(days=1))})
    )


def equals(path: str) -> Callable[[QuerySet[Any], Any], QuerySet[Any]]:
    return _reading(path, lambda rows, value: rows.filter(**{path: value}))


def date_range(
    path: str, label_from: str | Promise, label_to: str | Promise, prefix: str
) -> tuple[Filter, Filter]:
    return (
        Filter(f"{prefix}_from", label_from, on_or_after(path), kind="date"),
        Filter(f"{prefix}_to", label_to, on_or_before(path), kind="date"),
    )


def prefix_match(columns: Sequence[str], text: str) -> Q:
    """Rows where one of ``columns`` starts with ``text``, ignoring case: ``lower(col) LIKE
    'text%'``, which the prefix indexes (kyogyo/web/indexes.py) serve."""
    needle = text.strip().lower()
    condition = Q()
    for column in columns:
        condition |= Q(**{f"_lower_{column}__startswith": needle})
    return condition


def with_lower(rows: QuerySet[Any], columns: Sequence[str]) -> QuerySet[Any]:
    return rows.alias(**{f"_lower_{column}": Lower(column) for column in columns})


PERSON_COLUMNS = ("email", "first_name", "last_name")


def person_match(rows: QuerySet[Any], text: str, columns: Sequence[str] = PERSON_COLUMNS) -> QuerySet[Any]:
    """People whose email, first or last name starts with the text; with two words, whose
    family and given names start with them (in either order: 山田 太郎 or Taro Yamada).
    ``columns``: those of the three the reader may match on."""
    rows = with_lower(rows, columns)
    words = text.lower().split()
    if len(words) >= 2 and {"first_name", "last_name"} <= set(columns):
        first, second = words[0], words[1]
        return rows.filter(
            Q(_lower_last_name__startswith=first, _lower_first_name__startswith=second)
            | Q(_lower_first_name__startswith=first, _lower_last_name__startswith=second)
        )
    return rows.filter(prefix_match(columns, text))


def search_filter(
    label: str | Promise, match: Callable[..., QuerySet[Any]], columns: Sequence[str]
) -> Filter:
    """The list's search: ``match(rows, text, columns)`` over ``columns``, of which the
    reader's policy keeps those they may see."""
    return Filter("q", label, match, kind="text", reads=tuple(columns), searches=True)


SEARCH_LABEL = _("Name starts with")
