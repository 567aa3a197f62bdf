"""Restricted fields: which values a reader may not see, and the one way they are hidden.

Two kinds of restriction, decided here and nowhere else:

- **built in**: the personal data (name, email, phone, job title, external id) of a person
  whose consent is withdrawn — they opted out, so only managers and admins read who they are;
- **marked by an admin** (``RestrictedField``, Settings → Restricted fields): one field of one
  kind of record (a deal's amount, a company's segment, …), hidden on every record from
  everyone outside the marking's audience (managers and admins, or admins only).

Admins see everything. ``may_see(user, record, field)`` answers for one value; ``mask``
hides what a reader may not see in a record (a copy: the record itself is never touched, so
nothing masked can be saved), a dict of values or a row of an export; ``policy(user)`` gives
the same answers for many records with the markings read once, and the conditions lists,
searches and exports use on querysets, so that nobody can find, sort or filter by a value
they cannot see. A masked value reads "Restricted" (非表示) in pages and files, and is
``null`` with the field named under ``restricted`` in API answers."""

from __future__ import annotations

import contextlib
import contextvars
import copy
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import BooleanField, Case, ExpressionWrapper, F, Model, Q, QuerySet, Value, When
from django.db.models.expressions import OrderBy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kyogyo.org import access
from kyogyo.org.models import RestrictedField, User

MANAGERS = RestrictedField.Audience.MANAGERS
ADMINS = RestrictedField.Audience.ADMINS

PERSONAL = ("email", "first_name", "last_name", "title", "phone", "external_id")

# The fields an admin may mark, per kind of record: values that are read one record at a
# time. Names of companies and deals stay out (they are how every page links a record).
MARKABLE: dict[str, tuple[str, ...]] = {
    "customers.contact": (*PERSONAL, "source"),
    "customers.account": ("domain", "industry", "employee_count", "segment", "external_id"),
    "deals.deal": ("amount", "probability", "expected_close", "next_step", "external_id"),
}

# Values computed from others are hidden with them: a weighted amount gives the amount away.
DERIVED: dict[str, dict[str, tuple[str, ...]]] = {
    "deals.deal": {
        "weighted_amount": ("amount", "probability"),
        "effective_probability": ("probability",),
    },
}

MASK_LABEL = _("Restricted")


class Masked(str):
    """A value withheld from the reader: shows as "Restricted" in their language."""

    __slots__ = ()


def masked_value() -> Masked:
    return Masked(gettext("Restricted"))


def is_masked(value: Any) -> bool:
    return isinstance(value, Masked)


@dataclass(frozen=True)
class Rule:
    """Fields of one kind of record hidden from everyone outside ``audience``; on the records
    ``when`` selects (a condition under a path prefix, for querysets) and ``covers`` accepts
    (the same on a loaded record), or on every record when both are None."""

    model: str
    fields: frozenset[str]
    audience: str
    when: Callable[[str], Q] | None = None
    covers: Callable[[Any], bool] | None = None

    def applies_to(self, record: Any) -> bool:
        return self.covers is None or self.covers(record)

    @property
    def everywhere(self) -> bool:
        return self.when is None


WITHDRAWN_CONSENT = Rule(
    "customers.contact",
    frozenset(PERSONAL),
    MANAGERS,
    when=lambda prefix: Q(**{f"{prefix}consent": "withdrawn"}),
    covers=lambda contact: getattr(contact, "consent", None) == "withdrawn",
)
BUILT_IN = (WITHDRAWN_CONSENT,)


def label_of(model: type[Model] | Model) -> str:
    return f"{model._meta.app_label}.{model._meta.model_name}"


# --- the markings, read once per request -------------------------------------------------------

_request_marks: contextvars.ContextVar[list[tuple[Rule, ...]] | None] = contextvars.ContextVar(
    "kyogyo_restricted_marks", default=None
)
_viewer: contextvars.ContextVar[Any] = contextvars.ContextVar("kyogyo_restricted_viewer", default=None)


def marked_rules() -> tuple[Rule, ...]:
    """The admins' markings as rules (one query; once per request inside ``request_scope``)."""
    cache = _request_marks.get()
    if cache:
        return cache[0]
    rules = tuple(
        Rule(mark.model, frozenset({mark.field}), mark.audience)
        for mark in RestrictedField.objects.all()
        if mark.field in MARKABLE.get(mark.model, ())
    )
    if cache is not None:
        cache.append(rules)
    return rules


@contextlib.contextmanager
def request_scope(viewer: Any = None) -> Iterator[None]:
    """One request: the markings are read at most once, and ``viewer`` is who the page is
    for (the ``person`` template filter asks about them)."""
    marks = _request_marks.set([])
    who = _viewer.set(viewer)
    try:
        yield
    finally:
        _viewer.reset(who)
        _request_marks.reset(marks)


def current_viewer() -> Any:
    viewer = _viewer.get()
    return viewer if viewer is not None and getattr(viewer, "is_authenticated", False) else None


# --- the policy for one reader ---------------------------------------------------------------


class Policy:
    """What one reader may not see: only the rules whose audience leaves them out."""

    def __init__(self, user: User | None, rules: Iterable[Rule] | None = None) -> None:
        self.user = user
        every = (*BUILT_IN, *marked_rules()) if rules is None else tuple(rules)
        self.rules = tuple(rule for rule in every if not _may_read(user, rule.audience))

    @property
    def hides_anything(self) -> bool:
        return bool(self.rules)

    def _rules_for(self, model: str, name: str) -> list[Rule]:
        sources = DERIVED.get(model, {}).get(name, (name,))
        return [rule for rule in self.rules if rule.model == model and rule.fields & set(sources)]

    # one record

    def may_see(self, record: Any, name: str) -> bool:
        return not any(rule.applies_to(record) for rule in self._rules_for(label_of(record), name))

    def hidden_fields(self, record: Any) -> set[str]:
        model = label_of(record)
        names = {name for rule in self.rules if rule.model == model for name in rule.fields}
        names |= set(DERIVED.get(model, {}))
        return {name for name in names if not self.may_see(record, name)}

    def mask(self, record: Any) -> Any:
        """A copy of ``record`` with what the reader may not see masked (the record itself
        if nothing is). The copy is marked: saving it is refused. Derived values (a
        property such as ``weighted_amount``) are masked by the model, which asks
        ``is_masked`` of its sources."""
        if record is None or not self.rules or not hasattr(record, "_meta"):
            return record
        hidden = self.hidden_fields(record)
        if not hidden:
            return record
        shown = copy.copy(record)
        for name in hidden - set(DERIVED.get(label_of(record), {})):
            setattr(shown, name, masked_value())
        shown._restricted = frozenset(hidden)
        return shown

    def mask_all(self, records: Iterable[Any]) -> list[Any]:
        return [self.mask(record) for record in records]

    def mask_values(self, record: Any, values: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """``values`` (field → value, e.g. an API answer) with the hidden ones set to None,
        and the names hidden (the marker the API adds)."""
        if record is None or not self.rules:
            return values, []
        hidden = sorted(name for name in values if not self.may_see(record, name))
        return {name: (None if name in hidden else value) for name, value in values.items()}, hidden

    # querysets: the conditions lists, searches and exports use

    def condition(self, model: type[Model], path: str) -> Q | bool:
        """Where the value at ORM ``path`` (``email``, ``contact__email``) of ``model``'s rows
        is hidden: False nowhere, True on every row, else the rows matching the Q."""
        target = _resolve(model, path)
        if target is None:
            return False
        prefix, label, name = target
        found: Q | bool = False
        for rule in self._rules_for(label, name):
            if rule.when is None:
                return True
            found = rule.when(prefix) if found is False else (found | rule.when(prefix))  # type: ignore[operator]
        return found

    def always_hidden(self, model: type[Model], path: str) -> bool:
        return self.condition(model, path) is True

    def visible_rows(self, rows: QuerySet[Any], paths: Sequence[str]) -> tuple[QuerySet[Any], list[str]]:
        """For matching on ``paths`` (a search, a filter): the paths the reader may match
        on at all, and the rows where none of them is hidden — a hidden value never matches."""
        visible = []
        for path in paths:
            hidden = self.condition(rows.model, path)
            if hidden is True:
                continue
            visible.append(path)
            if hidden is not False:
                rows = rows.exclude(hidden)  # type: ignore[arg-type]
        return rows, visible

    def ordering(self, model: type[Model], order: Sequence[Any]) -> tuple[list[Any], bool]:
        """``order`` with hidden values sorted as if empty (last, by the tie-breaker), and
        whether a column of it is hidden on every row (the sort cannot be offered)."""
        rewritten: list[Any] = []
        for item in order:
            if not isinstance(item, str):
                rewritten.append(item)
                continue
            descending = item.startswith("-")
            path = item.lstrip("-")
            hidden = self.condition(model, path)
            if hidden is True:
                return list(order), True
            if hidden is False:
                rewritten.append(item)
                continue
            value = Case(When(hidden, then=Value(None)), default=F(path))  # type: ignore[arg-type]
            rewritten.append(OrderBy(value, descending=descending, nulls_last=True))
        return rewritten, False

    def masked_rows(
        self, rows: QuerySet[Any], paths: Sequence[str], chunk_size: int
    ) -> Iterator[tuple[Any, ...]]:
        """``rows.values_list(*paths)`` with hidden values masked: a column hidden everywhere
        is not read; one hidden on some rows is read with a flag saying where (same query)."""
        flags: dict[str, Any] = {}
        read: list[str] = []
        plan: list[tuple[str, str | None]] = []  # per column: show it, mask it, or ask its flag
        for index, path in enumerate(paths):
            hidden = self.condition(rows.model, path)
            if hidden is True:
                read.append("pk")  # the value is never read
                plan.append(("mask", None))
            elif hidden is False:
                read.append(path)
                plan.append(("show", None))
            else:
                flag = f"_restricted_{index}"
                flags[flag] = ExpressionWrapper(hidden, output_field=BooleanField())
                read.append(path)
                plan.append(("flag", flag))
        if flags:
            rows = rows.annotate(**flags)
        values = rows.values_list(*read, *flags).iterator(chunk_size=chunk_size)
        if not self.rules:
            yield from values
            return
        mask = masked_value()
        flag_at = {flag: len(paths) + i for i, flag in enumerate(flags)}
        for row in values:
            yield tuple(
                _shown(row, i, how, flag_at.get(flag or ""), mask) for i, (how, flag) in enumerate(plan)
            )


def _shown(row: tuple[Any, ...], index: int, how: str, flag_index: int | None, mask: Masked) -> Any:
    if how == "mask":
        return mask
    if how == "flag" and flag_index is not None and row[flag_index]:
        return mask
    return row[index]


def _may_read(user: User | None, audience: str) -> bool:
    if user is None:
        return False
    if audience == ADMINS:
        return access.can_see_restricted(user, admins_only=True)
    return access.can_see_restricted(user, admins_only=False)


def _resolve(model: type[Model], path: str) -> tuple[str, str, str] | None:
    """The relation prefix, the record kind and the field an ORM path ends on."""
    parts = path.split("__")
    current = model
    for part in parts[:-1]:
        try:
            relation = current._meta.get_field(part)
        except Exception:
            return None
        related = getattr(relation, "related_model", None)
        if related is None:
            return None
        current = related
    prefix = "".join(f"{part}__" for part in parts[:-1])
    return prefix, label_of(current), parts[-1]


# --- the one question, and the one masking helper ----------------------------------------------


def policy(user: User | None) -> Policy:
    return Policy(user)


def may_see(user: User | None, record: Any, name: str) -> bool:
    """May ``user`` see the field ``name`` of ``record``?"""
    return policy(user).may_see(record, name)


def mask(user: User | None, record: Any) -> Any:
    """``record`` as ``user`` may see it (see ``Policy.mask``)."""
    return policy(user).mask(record)


def refuse_masked_save(sender: Any, instance: Any, **kwargs: Any) -> None:
    """pre_save: a masked copy carries "Restricted" in its fields; it must never be written."""
    if getattr(instance, "_restricted", None):
        raise ValueError(f"a masked copy of {label_of(instance)} #{instance.pk} cannot be saved")
