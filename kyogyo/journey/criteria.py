"""The stage-rule language: declarative conditions stored as JSON, never executed as code.

A condition is one of these nodes (see docs/rules.md for the full reference)::

    {"all": [cond, ...]}            every condition holds
    {"any": [cond, ...]}            at least one holds
    {"not": cond}                   the condition does not hold
    {"field": "account.employee_count", "op": "gte", "value": 50}
    {"metric": "fit_score", "op": "gte", "value": 60}
    {"count": ["content_download"], "within_days": 30, "op": "gte", "value": 2}

``validate`` returns every problem with the path where it was found; ``evaluate``
checks a condition against one subject's ``Facts`` and explains each check.
Nothing here touches the database: the same functions serve the live engine,
the "who would qualify" preview and the bulk demo path.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

# Fields a rule may read, with their type. Kept explicit so a typo is an error, not a silent miss.
FIELDS: dict[str, type] = {
    "contact.email": str,
    "contact.email_domain": str,
    "contact.title": str,
    "contact.source": str,
    "contact.consent": str,
    "account.name": str,
    "account.domain": str,
    "account.industry": str,
    "account.employee_count": int,
    "account.country": str,
    "account.segment": str,
    "account.kind": str,
}

METRICS: dict[str, str] = {
    "fit_score": "fit score",
    "engagement_score": "engagement score",
    "days_in_stage": "days in the current stage",
    "days_since_last_activity": "days since the last activity",
}

ACTIVITY_TYPES = (
    "web_visit",
    "content_download",
    "form_submission",
    "email_open",
    "email_click",
    "event",
    "call",
    "meeting",
    "demo",
    "product_usage",
    "support_ticket",
    "survey_answer",
    "note",
)

NUMERIC_OPS = {"eq": "=", "ne": "≠", "gt": ">", "gte": "≥", "lt": "<", "lte": "≤"}
TEXT_OPS = {
    "eq": "=",
    "ne": "≠",
    "in": "in",
    "not_in": "not in",
    "contains": "contains",
    "starts_with": "starts with",
    "ends_with": "ends with",
    "in_list": "in list",
    "not_in_list": "not in list",
    "is_empty": "is empty",
    "is_not_empty": "is not empty",
}
NO_VALUE_OPS = {"is_empty", "is_not_empty"}
# Symbols people type are accepted and normalised to the names above.
OP_ALIASES = {
    "=": "eq",
    "==": "eq",
    "!=": "ne",
    "≠": "ne",
    ">": "gt",
    ">=": "gte",
    "≥": "gte",
    "<": "lt",
    "<=": "lte",
    "≤": "lte",
}
MAX_DEPTH = 12
MAX_NODES = 200


@dataclass(frozen=True)
class RuleProblem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class RuleError(ValueError):
    """An invalid condition. ``problems`` lists every problem found, each with its path."""

    def __init__(self, problems: Sequence[RuleProblem]):
        self.problems = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


@dataclass
class Facts:
    """What a rule may know about one subject at one moment."""

    now: dt.datetime
    fields: Mapping[str, Any]
    metrics: Mapping[str, float | None]
    activity_times: Mapping[str, Sequence[dt.datetime]] = field(default_factory=dict)
    # Normalised text of fields, filled on first use; may be shared between Facts of the
    # same subject while its fields stay the same.
    texts: dict[str, str] = field(default_factory=dict)

    def text(self, name: str) -> str:
        value = self.texts.get(name)
        if value is None:
            value = self.texts[name] = _text(self.fields.get(name))
        return value

    def count(self, types: Sequence[str], within_days: float | None) -> int:
        since = self.now - dt.timedelta(days=within_days) if within_days is not None else None
        total = 0
        for activity_type in dict.fromkeys(types):
            for at in self.activity_times.get(activity_type, ()):
                if at <= self.now and (since is None or at >= since):
                    total += 1
        return total


@dataclass(frozen=True)
class Check:
    """One leaf of a condition as evaluated: what was asked, what was found, whether it held."""

    path: str
    text: str
    actual: Any
    passed: bool


@dataclass(frozen=True)
class Verdict:
    matched: bool
    checks: tuple[Check, ...]


# ---------------------------------------------------------------- validation


def normalise_op(op: Any) -> Any:
    return OP_ALIASES.get(op, op) if isinstance(op, str) else op


def validate(condition: Any, *, list_keys: set[str] | None = None) -> list[RuleProblem]:
    """Every problem in ``condition``; empty when it is valid."""
    problems: list[RuleProblem] = []
    counter = [0]
    _validate_node(condition, "when", 0, problems, counter, list_keys)
    if counter[0] > MAX_NODES:
        problems.append(RuleProblem("when", f"too many conditions ({counter[0]}); at most {MAX_NODES}"))
    return problems


def check_valid(condition: Any, *, list_keys: set[str] | None = None) -> None:
    problems = validate(condition, list_keys=list_keys)
    if problems:
        raise RuleError(problems)


def _validate_node(
    node: Any,
    path: str,
    depth: int,
    problems: list[RuleProblem],
    counter: list[int],
    list_keys: set[str] | None,
) -> None:
    counter[0] += 1
    if depth > MAX_DEPTH:
        problems.append(RuleProblem(path, f"nested too deeply (more than {MAX_DEPTH} levels)"))
        return
    if not isinstance(node, dict):
        problems.append(RuleProblem(path, f"expected a condition object, got {_kind(node)}"))
        return
    kinds = [k for k in ("all", "any", "not", "field", "metric", "count") if k in node]
    if len(kinds) != 1:
        found = ", ".join(str(k) for k in sorted(node, key=str)) or "nothing"
        problems.append(
            RuleProblem(
                path,
                f"a condition needs exactly one of all, any, not, field, metric, count (found: {found})",
            )
        )
        return
    kind = kinds[0]
    if kind in ("all", "any"):
        _expect_keys(node, {kind}, path, problems)
        children = node[kind]
        if not isinstance(children, list) or not children:
            problems.append(RuleProblem(f"{path}.{kind}", "expected a non-empty list of conditions"))
            return
        for i, child in enumerate(children):
            _validate_node(child, f"{path}.{kind}[{i}]", depth + 1, problems, counter, list_keys)
    elif kind == "not":
        _expect_keys(node, {"not"}, path, problems)
        _validate_node(node["not"], f"{path}.not", depth + 1, problems, counter, list_keys)
    elif kind == "field":
        _validate_field(node, path, problems, list_keys)
    elif kind == "metric":
        _validate_metric(node, path, problems)
    else:
        _validate_count(node, path, problems)


def _validate_field(
    node: dict,
    path: str,
    problems: list[RuleProblem],
    list_keys: set[str] | None,
) -> None:
    _expect_keys(node, {"field", "op", "value"}, path, problems, optional={"value"})
    name = node["field"]
    if not isinstance(name, str) or name not in FIELDS:
        problems.append(
            RuleProblem(
                f"{path}.field",
                f"unknown field {name!r}; known fields: {', '.join(sorted(FIELDS))}",
            )
        )
        return
    numeric = FIELDS[name] is int
    ops = NUMERIC_OPS if numeric else TEXT_OPS
    if "op" not in node:
        return  # reported as a missing key
    op = normalise_op(node["op"])
    if not isinstance(op, str) or op not in ops:
        kind = "number" if numeric else "text"
        problems.append(
            RuleProblem(
                f"{path}.op",
                f"operator {node.get('op')!r} does not apply to the {kind} field {name}; "
                f"use one of {', '.join(ops)}",
            )
        )
        return
    _validate_value(node, op, numeric, path, problems, list_keys)


def _validate_value(
    node: dict,
    op: str,
    numeric: bool,
    path: str,
    problems: list[RuleProblem],
    list_keys: set[str] | None,
) -> None:
    if op in NO_VALUE_OPS:
        if "value" in node:
            problems.append(RuleProblem(f"{path}.value", f"operator {op} takes no value"))
        return
    if "value" not in node:
        problems.append(RuleProblem(path, f"operator {op} needs a value"))
        return
    value = node["value"]
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            problems.append(RuleProblem(f"{path}.value", f"operator {op} needs a non-empty list of texts"))
    elif op in ("in_list", "not_in_list"):
        if not isinstance(value, str):
            problems.append(RuleProblem(f"{path}.value", "expected the key of a value list"))
        elif list_keys is not None and value not in list_keys:
            problems.append(RuleProblem(f"{path}.value", f"no value list with key {value!r}"))
    elif numeric:
        if not _is_number(value):
            problems.append(RuleProblem(f"{path}.value", f"expected a number, got {_kind(value)}"))
    elif not isinstance(value, str):
        problems.append(RuleProblem(f"{path}.value", f"expected a text, got {_kind(value)}"))


def _validate_metric(node: dict, path: str, problems: list[RuleProblem]) -> None:
    _expect_keys(node, {"metric", "op", "value"}, path, problems)
    if not isinstance(node["metric"], str) or node["metric"] not in METRICS:
        problems.append(
            RuleProblem(
                f"{path}.metric",
                f"unknown metric {node['metric']!r}; known metrics: {', '.join(METRICS)}",
            )
        )
    _validate_numeric_comparison(node, path, problems)


def _validate_count(node: dict, path: str, problems: list[RuleProblem]) -> None:
    _expect_keys(node, {"count", "within_days", "op", "value"}, path, problems, optional={"within_days"})
    types = node["count"]
    if isinstance(types, str):
        if types not in ACTIVITY_TYPES:
            problems.append(
                RuleProblem(
                    f"{path}.count",
                    f"unknown activity type {types!r}; known types: {', '.join(ACTIVITY_TYPES)}",
                )
            )
    elif not isinstance(types, list) or not types:
        problems.append(RuleProblem(f"{path}.count", "expected an activity type or a list of them"))
    else:
        for i, activity_type in enumerate(types):
            if not isinstance(activity_type, str) or activity_type not in ACTIVITY_TYPES:
                problems.append(
                    RuleProblem(
                        f"{path}.count[{i}]",
                        f"unknown activity type {activity_type!r}; known types: {', '.join(ACTIVITY_TYPES)}",
                    )
                )
    if "within_days" in node:
        days = node["within_days"]
        if not _is_number(days) or days <= 0 or days > 3660:
            problems.append(
                RuleProblem(
                    f"{path}.within_days",
                    "expected a number of days greater than 0 and at most 3660",
                )
            )
    _validate_numeric_comparison(node, path, problems)
    value = node.get("value")
    if isinstance(value, int | float) and _is_number(value) and value < 0:
        problems.append(RuleProblem(f"{path}.value", "a count cannot be negative"))


def _validate_numeric_comparison(node: dict, path: str, problems: list[RuleProblem]) -> None:
    # A missing "op" or "value" is already reported by _expect_keys.
    if "op" in node:
        op = normalise_op(node["op"])
        if not isinstance(op, str) or op not in NUMERIC_OPS:
            problems.append(
                RuleProblem(
                    f"{path}.op",
                    f"unknown operator {node['op']!r}; use one of {', '.join(NUMERIC_OPS)}",
                )
            )
    if "value" in node and not _is_number(node["value"]):
        problems.append(RuleProblem(f"{path}.value", f"expected a number, got {_kind(node['value'])}"))


def _expect_keys(
    node: dict,
    allowed: set[str],
    path: str,
    problems: list[RuleProblem],
    optional: set[str] = frozenset(),  # type: ignore[assignment]
) -> None:
    for key in sorted(set(node) - allowed, key=str):
        problems.append(RuleProblem(path, f"unexpected key {key!r}"))
    for key in sorted(allowed - set(node) - optional):
        problems.append(RuleProblem(path, f"missing key {key!r}"))


def _is_number(value: Any) -> bool:
    """A finite JSON number: not true/false, not NaN or infinity (neither is valid JSON)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return not isinstance(value, float) or math.isfinite(value)


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    return {
        bool: "true/false",
        int: "a number",
        float: "a number",
        str: "a text",
        list: "a list",
        dict: "an object",
    }.get(type(value), type(value).__name__)


# ---------------------------------------------------------------- evaluation


def evaluate(condition: dict, facts: Facts, lists: Mapping[str, frozenset[str]] | None = None) -> Verdict:
    """Evaluate a *valid* condition. Every leaf is checked (no short-circuit) so the
    explanation is complete."""
    checks: list[Check] = []
    matched = _eval(condition, "when", facts, lists or {}, checks)
    return Verdict(matched, tuple(checks))


def matches(condition: dict, facts: Facts, lists: Mapping[str, frozenset[str]] | None = None) -> bool:
    """Fast path without explanation (short-circuits)."""
    return _eval(condition, "when", facts, lists or {}, None)


def _eval(
    node: dict, path: str, facts: Facts, lists: Mapping[str, frozenset[str]], checks: list[Check] | None
) -> bool:
    if "all" in node:
        results = (_eval(c, f"{path}.all[{i}]", facts, lists, checks) for i, c in enumerate(node["all"]))
        return all(list(results)) if checks is not None else all(results)
    if "any" in node:
        results = (_eval(c, f"{path}.any[{i}]", facts, lists, checks) for i, c in enumerate(node["any"]))
        return any(list(results)) if checks is not None else any(results)
    if "not" in node:
        return not _eval(node["not"], f"{path}.not", facts, lists, checks)
    if "field" in node:
        actual = facts.fields.get(node["field"])
        passed = _compare_field(actual, normalise_op(node["op"]), node.get("value"), lists)
    elif "metric" in node:
        actual = facts.metrics.get(node["metric"])
        passed = _compare_number(actual, normalise_op(node["op"]), node["value"])
    else:
        types = [node["count"]] if isinstance(node["count"], str) else node["count"]
        actual = facts.count(types, node.get("within_days"))
        passed = _compare_number(actual, normalise_op(node["op"]), node["value"])
    if checks is not None:
        checks.append(Check(path, describe(node), actual, passed))
    return passed


def _compare_number(actual: Any, op: str, value: float) -> bool:
    # An unknown value (None, NaN, or something that is not a number) satisfies no comparison.
    if isinstance(actual, bool) or not isinstance(actual, numbers.Number) or actual != actual:
        return False
    number: Any = actual
    try:
        if op == "eq":
            return bool(number == value)
        if op == "ne":
            return bool(number != value)
        if op == "gt":
            return bool(number > value)
        if op == "gte":
            return bool(number >= value)
        if op == "lt":
            return bool(number < value)
        return bool(number <= value)
    except TypeError:
        return False


def _compare_field(actual: Any, op: str, value: Any, lists: Mapping[str, frozenset[str]]) -> bool:
    text = "" if actual is None else str(actual).strip().lower()
    if op in NO_VALUE_OPS:
        # Consistent with the other text operators, which ignore surrounding blanks.
        return text == "" if op == "is_empty" else text != ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _compare_number(actual, op, value)
    if op in ("in_list", "not_in_list"):
        entries = lists.get(value, frozenset())
        found = text in entries or text in _normalised(frozenset(entries))
        return found if op == "in_list" else not found
    if op in ("in", "not_in"):
        found = text in {v.strip().lower() for v in value}
        return found if op == "in" else not found
    wanted = str(value).strip().lower()
    if op == "eq":
        return text == wanted
    if op == "ne":
        return text != wanted
    if op == "contains":
        return wanted in text
    if op == "starts_with":
        return text.startswith(wanted)
    return text.endswith(wanted)


@lru_cache(maxsize=256)
def _normalised(entries: frozenset[str]) -> frozenset[str]:
    """List entries compared like the text they are matched against: blanks stripped,
    case ignored (callers may or may not have normalised them already)."""
    return frozenset(str(e).strip().lower() for e in entries)


# ---------------------------------------------------------------- compiled form

Predicate = Callable[[Facts, Mapping[str, frozenset[str]]], bool]


def compile_condition(node: dict) -> Predicate:
    """The same test as ``matches`` for a *valid* condition, with operators and values
    normalised once up front: the engine evaluates rules millions of times. A condition on
    fields alone is worked out once per ``Facts.texts`` cache (i.e. once per subject while
    its fields stay the same, when a caller shares that cache)."""
    test = _compile(node)
    if not _fields_only(node):
        return test
    key = f"\0rule:{id(test)}"

    def memoised(facts: Facts, lists: Mapping[str, frozenset[str]]) -> bool:
        cached = facts.texts.get(key)
        if cached is None:
            cached = facts.texts[key] = "1" if test(facts, lists) else ""
        return cached == "1"

    return memoised


def _fields_only(node: dict) -> bool:
    if "all" in node or "any" in node:
        return all(_fields_only(c) for c in node.get("all") or node.get("any") or [])
    if "not" in node:
        return _fields_only(node["not"])
    return "field" in node


def _compile(node: dict) -> Predicate:
    if "all" in node:
        parts = [_compile(c) for c in node["all"]]
        return lambda facts, lists: all(p(facts, lists) for p in parts)
    if "any" in node:
        parts = [_compile(c) for c in node["any"]]
        return lambda facts, lists: any(p(facts, lists) for p in parts)
    if "not" in node:
        inner = _compile(node["not"])
        return lambda facts, lists: not inner(facts, lists)
    op = normalise_op(node["op"])
    if "metric" in node:
        name, value = node["metric"], node["value"]
        return lambda facts, lists: _compare_number(facts.metrics.get(name), op, value)
    if "count" in node:
        types = [node["count"]] if isinstance(node["count"], str) else node["count"]
        window, value = node.get("within_days"), node["value"]
        return lambda facts, lists: _compare_number(facts.count(types, window), op, value)
    return _compile_field(node["field"], op, node.get("value"))


def _compile_field(name: str, op: str, value: Any) -> Predicate:
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    if op in NO_VALUE_OPS or numeric or op in ("in_list", "not_in_list"):
        return lambda facts, lists: _compare_field(facts.fields.get(name), op, value, lists)
    if op in ("in", "not_in"):
        wanted_set = frozenset(v.strip().lower() for v in value)
        inside = op == "in"
        return lambda facts, lists: (facts.text(name) in wanted_set) is inside
    wanted = str(value).strip().lower()
    test: Callable[[str], bool] = {
        "eq": lambda text: text == wanted,
        "ne": lambda text: text != wanted,
        "contains": lambda text: wanted in text,
        "starts_with": lambda text: text.startswith(wanted),
    }.get(op, lambda text: text.endswith(wanted))
    return lambda facts, lists: test(facts.text(name))


def _text(actual: Any) -> str:
    return "" if actual is None else str(actual).strip().lower()


# ---------------------------------------------------------------- description


def describe(node: dict) -> str:
    """A one-line human reading of a condition, e.g.
    ``fit score ≥ 60 and count of content_download in 30 days ≥ 2``."""
    if "all" in node:
        return " and ".join(_wrap(c) for c in node["all"])
    if "any" in node:
        return " or ".join(_wrap(c) for c in node["any"])
    if "not" in node:
        return f"not {_wrap(node['not'])}"
    op = normalise_op(node.get("op"))
    if "field" in node:
        symbol = {**TEXT_OPS, **NUMERIC_OPS}.get(op, op)
        if op in NO_VALUE_OPS:
            return f"{node['field']} {symbol}"
        return f"{node['field']} {symbol} {_show(node.get('value'))}"
    if "metric" in node:
        return (
            f"{METRICS.get(node['metric'], node['metric'])} {NUMERIC_OPS.get(op, op)} {_show(node['value'])}"
        )
    types = [node["count"]] if isinstance(node["count"], str) else node["count"]
    window = f" in {_show(node['within_days'])} days" if "within_days" in node else ""
    return f"count of {' or '.join(types)}{window} {NUMERIC_OPS.get(op, op)} {_show(node['value'])}"


def _wrap(node: dict) -> str:
    text = describe(node)
    return f"({text})" if ("all" in node or "any" in node) and len(next(iter(node.values()))) > 1 else text


def _show(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)
