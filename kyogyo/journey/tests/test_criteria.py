"""Unit and property tests for the stage-rule language (``kyogyo.journey.criteria``).

Pure: no database, no Django models.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from kyogyo.journey import criteria
from kyogyo.journey.criteria import (
    ACTIVITY_TYPES,
    FIELDS,
    MAX_DEPTH,
    MAX_NODES,
    METRICS,
    NUMERIC_OPS,
    OP_ALIASES,
    TEXT_OPS,
    Facts,
    RuleError,
    RuleProblem,
    check_valid,
    describe,
    evaluate,
    matches,
    validate,
)

NOW = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)
TEXT_FIELDS = sorted(name for name, kind in FIELDS.items() if kind is str)
NUMBER_FIELDS = sorted(name for name, kind in FIELDS.items() if kind is int)
LISTS = {"vip": frozenset({"acme.com", "globex.co.jp"}), "blocked": frozenset({"spam.example"})}

FIT = {"metric": "fit_score", "op": "gte", "value": 60}
BIG = {"field": "account.employee_count", "op": "gte", "value": 50}
DOWNLOADS = {"count": ["content_download"], "within_days": 30, "op": "gte", "value": 2}


def make_facts(
    fields: dict[str, Any] | None = None,
    metrics: dict[str, float | None] | None = None,
    activities: dict[str, list[dt.datetime]] | None = None,
    now: dt.datetime = NOW,
) -> Facts:
    return Facts(now=now, fields=fields or {}, metrics=metrics or {}, activity_times=activities or {})


def paths(problems: list[RuleProblem]) -> list[str]:
    return [p.path for p in problems]


def only_problem(condition: Any, **kwargs: Any) -> RuleProblem:
    problems = validate(condition, **kwargs)
    assert len(problems) == 1, problems
    return problems[0]


def nested_not(levels: int, leaf: dict = FIT) -> dict:
    node: dict = leaf
    for _ in range(levels):
        node = {"not": node}
    return node


# ================================================================ validation: valid input


@pytest.mark.parametrize(
    "condition",
    [
        FIT,
        BIG,
        DOWNLOADS,
        {"count": "web_visit", "op": "gt", "value": 0},
        {"count": ["web_visit", "email_click"], "op": "lte", "value": 3.5},
        {"field": "account.industry", "op": "eq", "value": "Manufacturing"},
        {"field": "account.country", "op": "in", "value": ["JP", "US"]},
        {"field": "contact.email_domain", "op": "in_list", "value": "vip"},
        {"field": "contact.title", "op": "is_empty"},
        {"field": "contact.title", "op": "is_not_empty"},
        {"field": "contact.title", "op": "contains", "value": ""},
        {"not": FIT},
        {"all": [FIT, BIG, DOWNLOADS]},
        {"any": [FIT, {"not": {"all": [BIG]}}]},
    ],
)
def test_valid_conditions_have_no_problems(condition: dict) -> None:
    assert validate(condition) == []
    check_valid(condition)  # does not raise


@pytest.mark.parametrize("op", [*NUMERIC_OPS, *OP_ALIASES])
def test_every_numeric_operator_and_alias_is_accepted(op: str) -> None:
    assert validate({"metric": "fit_score", "op": op, "value": 1}) == []
    assert validate({"field": "account.employee_count", "op": op, "value": 1}) == []
    assert validate({"count": "call", "op": op, "value": 1}) == []


@pytest.mark.parametrize("op", sorted(TEXT_OPS))
def test_every_text_operator_is_accepted_on_text_fields(op: str) -> None:
    if op in criteria.NO_VALUE_OPS:
        node: dict = {"field": "account.name", "op": op}
    elif op in ("in", "not_in"):
        node = {"field": "account.name", "op": op, "value": ["Acme"]}
    elif op in ("in_list", "not_in_list"):
        node = {"field": "account.name", "op": op, "value": "vip"}
    else:
        node = {"field": "account.name", "op": op, "value": "Acme"}
    assert validate(node, list_keys=set(LISTS)) == []


@pytest.mark.parametrize(
    ("alias", "name"), [(">=", "gte"), ("≥", "gte"), ("<=", "lte"), ("≤", "lte"), ("!=", "ne")]
)
def test_aliases_normalise_to_operator_names(alias: str, name: str) -> None:
    assert criteria.normalise_op(alias) == name
    assert criteria.normalise_op(name) == name
    assert criteria.normalise_op(3) == 3


def test_large_and_fractional_numbers_are_numbers() -> None:
    for value in (0, -1.5, 10**30, 1e300):
        assert validate({"metric": "engagement_score", "op": "gt", "value": value}) == []


@pytest.mark.parametrize("days", [0.5, 1, 30, 3660])
def test_within_days_accepts_positive_windows_up_to_ten_years(days: float) -> None:
    assert validate({**DOWNLOADS, "within_days": days}) == []


# ================================================================ validation: problems and paths


def test_numeric_operator_on_text_field_names_the_operator_path() -> None:
    condition = {"all": [FIT, {"field": "account.name", "op": "gte", "value": "x"}]}
    problem = only_problem(condition)
    assert problem.path == "when.all[1].op"
    assert "text field account.name" in problem.message
    assert "'gte'" in problem.message


def test_symbol_alias_on_text_field_is_reported_as_typed() -> None:
    problem = only_problem({"any": [{"field": "account.name", "op": "≥", "value": "x"}]})
    assert problem.path == "when.any[0].op"
    assert "'≥'" in problem.message


def test_text_operator_on_number_field_is_an_error() -> None:
    problem = only_problem({"field": "account.employee_count", "op": "contains", "value": "5"})
    assert problem.path == "when.op"
    assert "number field account.employee_count" in problem.message


def test_unknown_field_lists_known_fields() -> None:
    problem = only_problem({"field": "account.revenue", "op": "gt", "value": 1})
    assert problem.path == "when.field"
    assert "'account.revenue'" in problem.message
    assert "account.employee_count" in problem.message


def test_unknown_metric() -> None:
    problem = only_problem({"not": {"metric": "happiness", "op": "gt", "value": 1}})
    assert problem.path == "when.not.metric"
    assert "fit_score" in problem.message


def test_unknown_operator_on_metric_and_count() -> None:
    assert only_problem({"metric": "fit_score", "op": "contains", "value": 1}).path == "when.op"
    assert only_problem({"count": "call", "op": "=>", "value": 1}).path == "when.op"


def test_unknown_activity_type_in_list_names_its_index() -> None:
    problem = only_problem({"count": ["web_visit", "fax"], "op": "gte", "value": 1})
    assert problem.path == "when.count[1]"
    assert "'fax'" in problem.message


def test_unknown_activity_type_given_as_text() -> None:
    problem = only_problem({"count": "fax", "op": "gte", "value": 1})
    assert problem.path == "when.count"
    assert "'fax'" in problem.message


@pytest.mark.parametrize("types", [[], {}, None, 3])
def test_count_needs_activity_types(types: Any) -> None:
    problem = only_problem({"count": types, "op": "gte", "value": 1})
    assert problem.path == "when.count"


def test_unknown_list_key_is_an_error_only_when_keys_are_known() -> None:
    node = {"field": "contact.email_domain", "op": "not_in_list", "value": "nope"}
    assert validate(node) == []
    problem = only_problem(node, list_keys=set(LISTS))
    assert problem.path == "when.value"
    assert "'nope'" in problem.message
    assert validate({**node, "value": "vip"}, list_keys=set(LISTS)) == []


def test_list_key_must_be_text() -> None:
    problem = only_problem({"field": "contact.email_domain", "op": "in_list", "value": ["vip"]})
    assert problem.path == "when.value"


def test_missing_op_is_reported_once() -> None:
    for node in (
        {"field": "account.name", "value": "x"},
        {"metric": "fit_score", "value": 1},
        {"count": "call", "value": 1},
    ):
        problem = only_problem(node)
        assert (problem.path, problem.message) == ("when", "missing key 'op'")


def test_missing_value_is_reported_once() -> None:
    for node in ({"metric": "fit_score", "op": "gt"}, {"count": "call", "op": "gt"}):
        problem = only_problem(node)
        assert (problem.path, problem.message) == ("when", "missing key 'value'")
    problem = only_problem({"field": "account.name", "op": "eq"})
    assert problem.path == "when"
    assert "needs a value" in problem.message


def test_count_missing_op_and_value_reports_both() -> None:
    problems = validate({"count": "call"})
    assert [(p.path, p.message) for p in problems] == [
        ("when", "missing key 'op'"),
        ("when", "missing key 'value'"),
    ]


def test_value_on_a_no_value_operator() -> None:
    problem = only_problem({"field": "contact.title", "op": "is_empty", "value": ""})
    assert problem.path == "when.value"
    assert "takes no value" in problem.message


@pytest.mark.parametrize(
    "node",
    [
        {**FIT, "extra": 1},
        {"all": [FIT], "op": "gte"},
        {"not": FIT, "value": 3},
        {**DOWNLOADS, "within": 30},
    ],
)
def test_unexpected_keys(node: dict) -> None:
    problem = only_problem(node)
    assert problem.path == "when"
    assert problem.message.startswith("unexpected key ")


@pytest.mark.parametrize(
    "node", [{}, {"op": "gte", "value": 1}, {"metric": "fit_score", "field": "account.name"}]
)
def test_a_node_needs_exactly_one_kind(node: dict) -> None:
    problem = only_problem(node)
    assert problem.path == "when"
    assert "exactly one of all, any, not, field, metric, count" in problem.message


@pytest.mark.parametrize(
    ("node", "kind"),
    [([FIT], "a list"), (None, "nothing"), ("fit_score >= 60", "a text"), (3, "a number")],
)
def test_a_node_must_be_an_object(node: Any, kind: str) -> None:
    problem = only_problem(node)
    assert problem.path == "when"
    assert problem.message == f"expected a condition object, got {kind}"


@pytest.mark.parametrize("children", [[], FIT, None, "x"])
def test_all_and_any_need_a_non_empty_list(children: Any) -> None:
    assert only_problem({"all": children}).path == "when.all"
    assert only_problem({"any": children}).path == "when.any"


def test_child_problems_carry_their_full_path() -> None:
    condition = {"all": [FIT, {"any": [BIG, {"not": {"metric": "x", "op": "gt", "value": 1}}]}]}
    assert paths(validate(condition)) == ["when.all[1].any[1].not.metric"]


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (True, "true/false"),
        (False, "true/false"),
        ("50", "a text"),
        (None, "nothing"),
        ([50], "a list"),
        ({"n": 50}, "an object"),
        (math.nan, "a number"),
        (math.inf, "a number"),
        (-math.inf, "a number"),
    ],
)
def test_non_numbers_are_rejected_where_a_number_is_needed(value: Any, kind: str) -> None:
    for node in (
        {"metric": "fit_score", "op": "gte", "value": value},
        {"field": "account.employee_count", "op": "gte", "value": value},
        {"count": "call", "op": "gte", "value": value},
    ):
        problem = only_problem(node)
        assert problem.path == "when.value"
        assert problem.message == f"expected a number, got {kind}"


@pytest.mark.parametrize("value", [5, True, None, ["x"]])
def test_text_fields_need_text_values(value: Any) -> None:
    problem = only_problem({"field": "account.name", "op": "eq", "value": value})
    assert problem.path == "when.value"
    assert problem.message.startswith("expected a text")


@pytest.mark.parametrize("value", [[], "JP", ["JP", 1], None, [None]])
def test_in_needs_a_non_empty_list_of_texts(value: Any) -> None:
    for op in ("in", "not_in"):
        problem = only_problem({"field": "account.country", "op": op, "value": value})
        assert problem.path == "when.value"
        assert "non-empty list of texts" in problem.message


@pytest.mark.parametrize("days", [0, -1, 3660.5, 3661, True, "30", None, math.nan, math.inf])
def test_within_days_out_of_range_or_not_a_number(days: Any) -> None:
    problem = only_problem({**DOWNLOADS, "within_days": days})
    assert problem.path == "when.within_days"


def test_a_count_cannot_be_negative() -> None:
    problem = only_problem({"count": "call", "op": "gte", "value": -1})
    assert problem.path == "when.value"
    assert "negative" in problem.message


def test_depth_limit() -> None:
    assert validate(nested_not(MAX_DEPTH)) == []
    problem = only_problem(nested_not(MAX_DEPTH + 1))
    assert problem.path == "when" + ".not" * (MAX_DEPTH + 1)
    assert "nested too deeply" in problem.message
    # Far deeper input is reported once and does not recurse without bound.
    assert len(validate(nested_not(5000))) == 1


def test_node_count_limit() -> None:
    at_limit = {"all": [FIT] * (MAX_NODES - 1)}  # the "all" node plus its children
    assert validate(at_limit) == []
    problem = only_problem({"all": [FIT] * MAX_NODES})
    assert problem.path == "when"
    assert f"too many conditions ({MAX_NODES + 1})" in problem.message


def test_validate_returns_every_problem_not_just_the_first() -> None:
    condition = {
        "all": [
            {"field": "account.name", "op": "gte", "value": "x"},
            {"metric": "nope", "op": "gt", "value": "high"},
            {"any": [{"count": ["fax"], "within_days": 0, "op": "gte", "value": -1}]},
            {"not": {"field": "account.revenue", "op": "gt", "value": 1}},
            [],
            {"metric": "fit_score", "op": "gt", "value": 1, "weight": 2},
        ]
    }
    expected = [
        "when.all[0].op",
        "when.all[1].metric",
        "when.all[1].value",
        "when.all[2].any[0].count[0]",
        "when.all[2].any[0].within_days",
        "when.all[2].any[0].value",
        "when.all[3].not.field",
        "when.all[4]",
        "when.all[5]",
    ]
    problems = validate(condition)
    assert paths(problems) == expected

    with pytest.raises(RuleError) as raised:
        check_valid(condition)
    error = raised.value
    assert isinstance(error, ValueError)
    assert error.problems == problems
    for problem in problems:
        assert str(problem) in str(error)
    assert str(error) == "; ".join(str(p) for p in problems)


def test_rule_problem_string() -> None:
    assert str(RuleProblem("when.all[0]", "boom")) == "when.all[0]: boom"


def test_check_valid_passes_list_keys_through() -> None:
    node = {"field": "contact.email_domain", "op": "in_list", "value": "vip"}
    check_valid(node, list_keys={"vip"})
    with pytest.raises(RuleError) as raised:
        check_valid(node, list_keys=set())
    assert paths(raised.value.problems) == ["when.value"]


@pytest.mark.parametrize(
    "node",
    [
        {"field": ["account.name"], "op": "eq", "value": "x"},
        {"field": {"a": 1}, "op": "eq", "value": "x"},
        {"field": "account.name", "op": ["eq"], "value": "x"},
        {"field": "account.name", "op": {"eq": 1}, "value": "x"},
        {"metric": ["fit_score"], "op": "gte", "value": 1},
        {"metric": "fit_score", "op": ["gte"], "value": 1},
        {"count": [["call"]], "op": "gte", "value": 1},
        {"count": "call", "op": {}, "value": 1},
        {1: "x", "a": 2},
        {"metric": "fit_score", "op": "gt", "value": 1, 3: 4},
    ],
)
def test_unhashable_or_odd_values_are_problems_not_crashes(node: Any) -> None:
    assert validate(node)


# ================================================================ evaluation: text fields


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("eq", "acme corp", True),
        ("eq", "  ACME CORP", True),
        ("=", "Acme Corp", True),
        ("ne", "ACME corp", False),
        ("!=", "Globex", True),
        ("contains", "ME co", True),
        ("contains", "globex", False),
        ("starts_with", "ACME", True),
        ("starts_with", "corp", False),
        ("ends_with", "CORP", True),
        ("ends_with", "acme", False),
        ("in", ["Globex", "acme CORP"], True),
        ("in", ["Globex"], False),
        ("not_in", ["ACME corp"], False),
        ("not_in", ["Globex"], True),
    ],
)
def test_text_comparisons_ignore_case_and_surrounding_blanks(op: str, value: Any, expected: bool) -> None:
    facts = make_facts(fields={"account.name": "  Acme Corp "})
    node = {"field": "account.name", "op": op, "value": value}
    assert validate(node) == []
    assert matches(node, facts) is expected


def test_missing_text_field_reads_as_empty_text() -> None:
    facts = make_facts(fields={"account.name": None})
    assert matches({"field": "account.name", "op": "eq", "value": ""}, facts)
    assert not matches({"field": "account.name", "op": "in", "value": ["x"]}, facts)
    assert matches({"field": "account.name", "op": "not_in", "value": ["x"]}, facts)
    assert not matches({"field": "account.industry", "op": "contains", "value": "x"}, facts)


@pytest.mark.parametrize(
    ("actual", "empty"), [(None, True), ("", True), ("   ", True), ("x", False), (" x ", False)]
)
def test_is_empty_and_is_not_empty(actual: Any, empty: bool) -> None:
    facts = make_facts(fields={"contact.title": actual})
    assert matches({"field": "contact.title", "op": "is_empty"}, facts) is empty
    assert matches({"field": "contact.title", "op": "is_not_empty"}, facts) is not empty


def test_absent_field_is_empty() -> None:
    assert matches({"field": "contact.title", "op": "is_empty"}, make_facts())


@pytest.mark.parametrize(
    ("domain", "in_vip"),
    [("acme.com", True), ("ACME.com", True), (" Globex.CO.JP ", True), ("other.com", False)],
)
def test_in_list_and_not_in_list(domain: str, in_vip: bool) -> None:
    facts = make_facts(fields={"contact.email_domain": domain})
    in_list = {"field": "contact.email_domain", "op": "in_list", "value": "vip"}
    not_in_list = {**in_list, "op": "not_in_list"}
    assert matches(in_list, facts, LISTS) is in_vip
    assert matches(not_in_list, facts, LISTS) is not in_vip


def test_in_list_with_unknown_or_no_lists_is_never_in() -> None:
    facts = make_facts(fields={"contact.email_domain": "acme.com"})
    node = {"field": "contact.email_domain", "op": "in_list", "value": "missing"}
    assert not matches(node, facts, LISTS)
    assert not matches({**node, "value": "vip"}, facts)  # no lists given at all
    assert matches({**node, "op": "not_in_list"}, facts, LISTS)


def test_in_list_matches_entries_that_were_not_normalised_by_the_caller() -> None:
    facts = make_facts(fields={"contact.email_domain": "acme.com"})
    node = {"field": "contact.email_domain", "op": "in_list", "value": "vip"}
    assert matches(node, facts, {"vip": frozenset({" ACME.com "})})
    assert matches(node, facts, {"vip": {"Acme.com"}})  # type: ignore[dict-item]  # a plain set works too


def test_non_text_actual_values_are_compared_as_text() -> None:
    facts = make_facts(fields={"account.name": 42})
    assert matches({"field": "account.name", "op": "eq", "value": "42"}, facts)


# ================================================================ evaluation: numbers


@pytest.mark.parametrize(
    ("op", "expected"),
    [
        ("eq", False),
        ("ne", True),
        ("gt", True),
        ("gte", True),
        ("≥", True),
        (">=", True),
        ("lt", False),
        ("lte", False),
        ("≤", False),
    ],
)
def test_numeric_comparisons(op: str, expected: bool) -> None:
    facts = make_facts(fields={"account.employee_count": 51}, metrics={"fit_score": 61.0})
    assert matches({"field": "account.employee_count", "op": op, "value": 50}, facts) is expected
    assert matches({"metric": "fit_score", "op": op, "value": 60}, facts) is expected


def test_boundary_values() -> None:
    facts = make_facts(fields={"account.employee_count": 50}, metrics={"fit_score": 60})
    assert matches(BIG, facts)
    assert matches(FIT, facts)
    assert not matches({**FIT, "op": "gt"}, facts)
    assert matches({**FIT, "op": "eq", "value": 60.0}, facts)


@pytest.mark.parametrize("op", [*NUMERIC_OPS, *OP_ALIASES])
@pytest.mark.parametrize("actual", [None, math.nan, "60", [60]])
def test_unknown_or_non_numeric_actual_values_never_match(op: str, actual: Any) -> None:
    facts = make_facts(fields={"account.employee_count": actual}, metrics={"fit_score": actual})
    assert not matches({"metric": "fit_score", "op": op, "value": 60}, facts)
    assert not matches({"field": "account.employee_count", "op": op, "value": 60}, facts)


def test_absent_metric_is_unknown() -> None:
    assert not matches({"metric": "days_in_stage", "op": "ne", "value": 0}, make_facts())


# ================================================================ counting activities


def test_count_window_edges() -> None:
    day = dt.timedelta(days=1)
    tiny = dt.timedelta(microseconds=1)
    facts = make_facts(
        activities={
            "content_download": [
                NOW,  # counted: exactly now
                NOW - 30 * day,  # counted: exactly at the window edge
                NOW - 30 * day - tiny,  # just outside
                NOW + tiny,  # in the future relative to ``now``
                NOW + 3 * day,
            ]
        }
    )
    assert facts.count(["content_download"], 30) == 2
    assert facts.count(["content_download"], None) == 3  # no window: all the past
    assert facts.count(["content_download"], 0.5) == 1
    assert matches(DOWNLOADS, facts)
    assert not matches({**DOWNLOADS, "value": 3}, facts)


def test_count_without_activities() -> None:
    facts = make_facts()
    assert facts.count(["web_visit", "call"], 30) == 0
    assert matches({"count": "call", "op": "eq", "value": 0}, facts)
    assert not matches({"count": "call", "op": "gte", "value": 1}, facts)


def test_count_sums_types_and_counts_a_repeated_type_once() -> None:
    facts = make_facts(
        activities={"web_visit": [NOW, NOW - dt.timedelta(hours=1)], "call": [NOW], "note": [NOW]}
    )
    assert facts.count(["web_visit", "call"], 1) == 3
    assert facts.count(["web_visit", "web_visit"], 1) == 2
    assert matches({"count": "web_visit", "op": "eq", "value": 2}, facts)
    assert matches({"count": ["call", "note", "call"], "op": "eq", "value": 2}, facts)


# ================================================================ evaluate: explanations


def test_evaluate_explains_every_leaf_without_short_circuit() -> None:
    facts = make_facts(
        fields={"account.employee_count": 10}, metrics={"fit_score": 80, "engagement_score": None}
    )
    condition = {
        "all": [
            BIG,  # fails first: ``all`` would stop here
            {"any": [FIT, {"metric": "engagement_score", "op": "gt", "value": 5}]},
            {"not": DOWNLOADS},
        ]
    }
    verdict = evaluate(condition, facts)
    assert verdict.matched is False
    assert verdict.matched == matches(condition, facts)
    assert [(c.path, c.actual, c.passed) for c in verdict.checks] == [
        ("when.all[0]", 10, False),
        ("when.all[1].any[0]", 80, True),
        ("when.all[1].any[1]", None, False),
        ("when.all[2].not", 0, False),  # the leaf's own result, before negation
    ]
    assert verdict.checks[0].text == "account.employee_count ≥ 50"
    assert verdict.checks[1].text == "fit score ≥ 60"


def test_evaluate_matches_and_explains_a_qualifying_subject() -> None:
    facts = make_facts(
        fields={"account.employee_count": 120},
        metrics={"fit_score": 75},
        activities={"content_download": [NOW - dt.timedelta(days=d) for d in (1, 5, 40)]},
    )
    condition = {"all": [BIG, FIT, DOWNLOADS]}
    verdict = evaluate(condition, facts)
    assert verdict.matched is True
    assert [c.passed for c in verdict.checks] == [True, True, True]
    assert verdict.checks[2].actual == 2


def test_evaluate_any_checks_every_branch() -> None:
    facts = make_facts(metrics={"fit_score": 90})
    verdict = evaluate({"any": [FIT, BIG, DOWNLOADS]}, facts)
    assert verdict.matched is True
    assert len(verdict.checks) == 3


def test_lists_are_optional_for_evaluate() -> None:
    node = {"field": "contact.email_domain", "op": "not_in_list", "value": "vip"}
    verdict = evaluate(node, make_facts(fields={"contact.email_domain": "acme.com"}))
    assert verdict.matched is True


# ================================================================ describe


def test_describe_the_documented_example() -> None:
    condition = {
        "all": [
            {"field": "account.employee_count", "op": ">=", "value": 50},
            {"metric": "fit_score", "op": "≥", "value": 60.0},
            {"count": ["content_download"], "within_days": 30, "op": "gte", "value": 2},
        ]
    }
    assert validate(condition) == []
    assert describe(condition) == (
        "account.employee_count ≥ 50 and fit score ≥ 60 and count of content_download in 30 days ≥ 2"
    )


@pytest.mark.parametrize(
    ("node", "text"),
    [
        ({"any": [FIT, {"all": [BIG, DOWNLOADS]}]}, None),
        ({"not": {"any": [FIT, BIG]}}, "not (fit score ≥ 60 or account.employee_count ≥ 50)"),
        ({"not": FIT}, "not fit score ≥ 60"),
        ({"all": [{"any": [FIT]}, BIG]}, "fit score ≥ 60 and account.employee_count ≥ 50"),
        ({"field": "contact.title", "op": "is_empty"}, "contact.title is empty"),
        (
            {"field": "account.country", "op": "not_in", "value": ["JP", "US"]},
            "account.country not in [JP, US]",
        ),
        (
            {"field": "contact.email_domain", "op": "in_list", "value": "vip"},
            "contact.email_domain in list vip",
        ),
        ({"field": "account.name", "op": "!=", "value": "Acme"}, "account.name ≠ Acme"),
        (
            {"count": ["call", "meeting"], "op": "lt", "value": 1},
            "count of call or meeting < 1",
        ),
        (
            {"count": "demo", "within_days": 0.5, "op": "eq", "value": 0},
            "count of demo in 0.5 days = 0",
        ),
        (
            {"metric": "days_in_stage", "op": "gt", "value": 14.5},
            "days in the current stage > 14.5",
        ),
    ],
)
def test_describe(node: dict, text: str | None) -> None:
    assert validate(node) == []
    if text is None:
        text = "fit score ≥ 60 or (account.employee_count ≥ 50 and count of content_download in 30 days ≥ 2)"
    assert describe(node) == text


# ================================================================ property tests

DAY = dt.timedelta(days=1)
TEXT_VALUES = ["Acme", "acme.com", " ACME.com ", "Globex", "JP", "jp", "", "spam.example"]

numbers = st.one_of(
    st.integers(min_value=-5, max_value=200),
    st.floats(min_value=-5, max_value=200, allow_nan=False, allow_infinity=False),
)
numeric_ops = st.sampled_from([*NUMERIC_OPS, *OP_ALIASES])


@st.composite
def text_leaf(draw: st.DrawFn) -> dict:
    field_name = draw(st.sampled_from(TEXT_FIELDS))
    op = draw(st.sampled_from(sorted(TEXT_OPS)))
    node: dict = {"field": field_name, "op": op}
    if op in ("in", "not_in"):
        node["value"] = draw(st.lists(st.sampled_from(TEXT_VALUES), min_size=1, max_size=3))
    elif op in ("in_list", "not_in_list"):
        node["value"] = draw(st.sampled_from(sorted(LISTS)))
    elif op not in criteria.NO_VALUE_OPS:
        node["value"] = draw(st.sampled_from(TEXT_VALUES))
    return node


@st.composite
def count_leaf(draw: st.DrawFn) -> dict:
    types = draw(
        st.one_of(
            st.sampled_from(ACTIVITY_TYPES[:4]),
            st.lists(st.sampled_from(ACTIVITY_TYPES[:4]), min_size=1, max_size=3),
        )
    )
    node: dict = {"count": types, "op": draw(numeric_ops), "value": draw(st.integers(0, 6))}
    if draw(st.booleans()):
        node["within_days"] = draw(st.sampled_from([0.5, 1, 7, 30, 90]))
    return node


leaves = st.one_of(
    st.builds(
        lambda op, value: {"field": "account.employee_count", "op": op, "value": value},
        numeric_ops,
        numbers,
    ),
    text_leaf(),
    st.builds(
        lambda metric, op, value: {"metric": metric, "op": op, "value": value},
        st.sampled_from(sorted(METRICS)),
        numeric_ops,
        numbers,
    ),
    count_leaf(),
)

conditions = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.builds(lambda cs: {"all": cs}, st.lists(children, min_size=1, max_size=4)),
        st.builds(lambda cs: {"any": cs}, st.lists(children, min_size=1, max_size=4)),
        st.builds(lambda c: {"not": c}, children),
    ),
    max_leaves=12,
)


@st.composite
def facts_strategy(draw: st.DrawFn) -> Facts:
    maybe_text = st.one_of(st.none(), st.sampled_from(TEXT_VALUES))
    fields: dict[str, Any] = {name: draw(maybe_text) for name in TEXT_FIELDS}
    fields["account.employee_count"] = draw(st.one_of(st.none(), st.integers(0, 200)))
    metrics = {
        name: draw(st.one_of(st.none(), st.floats(-5, 200, allow_nan=False)))
        for name in METRICS
        if draw(st.booleans())
    }
    offsets = st.lists(st.floats(min_value=-100, max_value=3), max_size=6)
    activities = {
        activity_type: [NOW + x * DAY for x in draw(offsets)] for activity_type in ACTIVITY_TYPES[:4]
    }
    return make_facts(fields=fields, metrics=metrics, activities=activities)


def depth(node: Any) -> int:
    if "all" in node or "any" in node:
        return 1 + max(depth(c) for c in node.get("all") or node.get("any"))
    if "not" in node:
        return 1 + depth(node["not"])
    return 0


def leaf_paths(node: dict, path: str = "when") -> list[str]:
    for kind in ("all", "any"):
        if kind in node:
            return [p for i, c in enumerate(node[kind]) for p in leaf_paths(c, f"{path}.{kind}[{i}]")]
    if "not" in node:
        return leaf_paths(node["not"], f"{path}.not")
    return [path]


PROPERTY_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY_SETTINGS
@given(condition=conditions, facts=facts_strategy())
def test_evaluate_agrees_with_matches_and_explains_every_leaf(condition: dict, facts: Facts) -> None:
    assume(depth(condition) <= MAX_DEPTH)
    assert validate(condition, list_keys=set(LISTS)) == []

    verdict = evaluate(condition, facts, LISTS)
    assert verdict.matched == matches(condition, facts, LISTS)
    assert [c.path for c in verdict.checks] == leaf_paths(condition)
    for check in verdict.checks:
        assert isinstance(check.passed, bool)
        assert check.text

    assert matches({"not": condition}, facts, LISTS) is not verdict.matched
    assert matches({"all": [condition]}, facts, LISTS) is verdict.matched
    assert matches({"any": [condition]}, facts, LISTS) is verdict.matched
    assert isinstance(describe(condition), str)


@PROPERTY_SETTINGS
@given(left=conditions, right=conditions, facts=facts_strategy())
def test_all_and_any_follow_boolean_logic(left: dict, right: dict, facts: Facts) -> None:
    a, b = matches(left, facts, LISTS), matches(right, facts, LISTS)
    assert matches({"all": [left, right]}, facts, LISTS) is (a and b)
    assert matches({"any": [left, right]}, facts, LISTS) is (a or b)


@PROPERTY_SETTINGS
@given(
    minutes=st.lists(st.integers(min_value=-400 * 1440, max_value=10 * 1440), max_size=20),
    short=st.floats(min_value=0.01, max_value=400),
    extra=st.floats(min_value=0, max_value=400),
)
@example(minutes=[-400 * 1440], short=399.99999999999994, extra=0.0)  # rounds to 400 days
def test_count_grows_with_the_window(minutes: list[int], short: float, extra: float) -> None:
    facts = make_facts(activities={"call": [NOW + dt.timedelta(minutes=m) for m in minutes]})
    narrow = facts.count(["call"], short)
    wide = facts.count(["call"], short + extra)
    everything = facts.count(["call"], None)
    assert 0 <= narrow <= wide <= everything == sum(m <= 0 for m in minutes)
    # The window is a timedelta, which keeps whole microseconds: 399.99999999999994 days is
    # exactly 400 days there, so the reference compares timedeltas too, not float minutes.
    window = dt.timedelta(days=short)
    assert narrow == sum(-window <= dt.timedelta(minutes=m) <= dt.timedelta(0) for m in minutes)


KEYS = ["all", "any", "not", "field", "metric", "count", "op", "value", "within_days"]
NAMES = [*FIELDS, *METRICS, *ACTIVITY_TYPES, *NUMERIC_OPS, *TEXT_OPS, *OP_ALIASES, "vip"]
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),  # includes NaN and infinities
    st.text(max_size=8),
    st.sampled_from(NAMES),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=4)), children, max_size=5),
    ),
    max_leaves=30,
)


@settings(max_examples=200, deadline=None)
@given(value=st.one_of(json_values, conditions))
def test_validate_never_raises(value: Any) -> None:
    for list_keys in (None, set(LISTS)):
        problems = validate(value, list_keys=list_keys)
        assert isinstance(problems, list)
        assert all(isinstance(p, RuleProblem) and p.path.startswith("when") for p in problems)
        if problems:
            with pytest.raises(RuleError):
                check_valid(value, list_keys=list_keys)
        else:
            check_valid(value, list_keys=list_keys)


@st.composite
def mutated_conditions(draw: st.DrawFn) -> Any:
    """A valid condition with one leaf's key replaced by arbitrary JSON: near misses."""
    condition = draw(conditions)
    node = condition
    while depth(node) and draw(st.booleans()):
        kind = next(k for k in ("all", "any", "not") if k in node)
        node = node[kind] if kind == "not" else draw(st.sampled_from(node[kind]))
    key = draw(st.sampled_from(sorted(node)))
    node[key] = draw(json_values)
    return condition


@settings(max_examples=200, deadline=None)
@given(value=mutated_conditions())
def test_validate_never_raises_on_near_misses(value: Any) -> None:
    problems = validate(value, list_keys=set(LISTS))
    assert all(isinstance(p, RuleProblem) for p in problems)
