"""Reading stage rules from a YAML or JSON file (for ``kyogyo rules test`` and ``publish``).

A file holds one rule, a list of rules, or ``{"rules": [...]}``; each rule::

    key: mql-fit-engagement        # an existing rule's key makes this its next version
    stage: mql                     # where matching subjects move
    from: [lead, nurture]          # which stages the rule applies from
    priority: 50                   # optional; lower runs first (default: existing or 100)
    reason: competitor             # needed when moving to disqualified
    when: {all: [...]}             # the condition (docs/rules.md)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from django.db import transaction

from kyogyo.journey.criteria import RuleError, RuleProblem
from kyogyo.journey.evaluation import Candidate
from kyogyo.journey.models import Rule, RuleVersion
from kyogyo.org.models import User

ALLOWED = {"key", "name", "stage", "from", "priority", "reason", "when", "note"}


def load(path: str | Path) -> list[Candidate]:
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise RuleError([RuleProblem(str(path), f"cannot read the file: {exc}")]) from exc
    return parse_text(text, where=str(path))


def parse_text(text: str, *, where: str = "text") -> list[Candidate]:
    """The rules written in ``text`` (the settings page's editor, or a file's contents)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RuleError([RuleProblem(where, f"not valid YAML or JSON: {exc}")]) from exc
    if data is None:
        raise RuleError([RuleProblem(where, "no rule given")])
    return parse(data)


def parse(data: Any) -> list[Candidate]:
    if isinstance(data, dict) and "rules" in data:
        data = data["rules"]
    items = data if isinstance(data, list) else [data]
    problems: list[RuleProblem] = []
    candidates = []
    for i, item in enumerate(items):
        where = f"rules[{i}]"
        if not isinstance(item, dict):
            problems.append(RuleProblem(where, "expected a rule (a mapping with key, stage, from, when)"))
            continue
        problems += [RuleProblem(where, f"unexpected key {k!r}") for k in sorted(set(item) - ALLOWED)]
        missing = [k for k in ("key", "stage", "from", "when") if k not in item]
        problems += [RuleProblem(where, f"missing key {k!r}") for k in missing]
        if missing:
            continue
        from_stages = item["from"] if isinstance(item["from"], list) else [item["from"]]
        priority = item.get("priority")
        if priority is None:
            existing = Rule.objects.filter(key=str(item["key"])).first()
            priority = existing.priority if existing else 100
        if not isinstance(priority, int) or isinstance(priority, bool) or not 0 <= priority <= 10_000:
            problems.append(RuleProblem(f"{where}.priority", "expected a whole number from 0 to 10000"))
            continue
        candidates.append(
            Candidate(
                key=str(item["key"]),
                stage=str(item["stage"]),
                from_stages=tuple(str(s) for s in from_stages),
                condition=item["when"],
                priority=priority,
                reason=item.get("reason"),
            )
        )
    if problems:
        raise RuleError(problems)
    return candidates


def publish(candidates: list[Candidate], *, note: str = "", actor: User | None = None) -> list[RuleVersion]:
    """Save every rule as its next version, all or none (``kyogyo rules publish`` and the
    settings page)."""
    from kyogyo.journey import actions

    check(candidates)
    with transaction.atomic():
        return [actions.publish_rule(c, note=note, actor=actor) for c in candidates]


def as_text(candidate: Candidate) -> str:
    """A rule as the editor shows it: the rule-file form, in YAML."""
    data: dict[str, Any] = {
        "key": candidate.key,
        "stage": candidate.stage,
        "from": list(candidate.from_stages),
        "priority": candidate.priority,
    }
    if candidate.reason:
        data["reason"] = candidate.reason
    data["when"] = candidate.condition
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def check(candidates: list[Candidate]) -> None:
    """Validate every rule of a file up front; problems of a file with several rules are
    prefixed with the rule's place in it (``rules[1].from[0]: …``)."""
    from kyogyo.journey import evaluation, rulebook

    book = rulebook.load()
    problems = []
    for i, candidate in enumerate(candidates):
        for problem in evaluation.validate_candidate(candidate, book):
            path = f"rules[{i}].{problem.path}" if len(candidates) > 1 else problem.path
            problems.append(RuleProblem(path, problem.message))
    if problems:
        raise RuleError(problems)
