"""The rule backtest on hand-made people whose numbers can be checked by hand (a stricter
MQL rule leaves out the people who never converted), facts as of each moment, stored
versions, edge cases, a plain-Python reference on the demo company and the command line."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections import defaultdict
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError

from kyogyo.analytics.metrics import backtest
from kyogyo.analytics.spec import Spec, SpecError
from kyogyo.deals.actions import qualify, win_deal
from kyogyo.deals.models import Deal
from kyogyo.journey.models import Milestone
from kyogyo.marketing.actions import record_activity
from kyogyo.testing import T0, TOKYO, local

DAY = dt.timedelta(days=1)
MINUTE = dt.timedelta(minutes=1)
APRIL = {"start": dt.date(2026, 4, 1), "end": dt.date(2026, 4, 30)}
AS_OF = local(2026, 5, 31)
CURRENT = {  # the default rule, version 1: fit ≥ 50, engagement ≥ 30, a strong touch in 30 days
    "all": [
        {"metric": "fit_score", "op": "gte", "value": 50},
        {"metric": "engagement_score", "op": "gte", "value": 30},
        {
            "count": ["content_download", "form_submission", "event", "demo"],
            "within_days": 30,
            "op": "gte",
            "value": 1,
        },
    ]
}
STRICTER = {
    "key": "mql-fit-engagement",
    "stage": "mql",
    "from": ["lead", "nurture"],
    "when": {"all": [*CURRENT["all"], {"field": "account.employee_count", "op": "gte", "value": 300}]},
}


def stage_of(contact) -> str:
    return Milestone.objects.select_related("current_stage").get(subject=contact).current_stage.key


def engage(contact, at: dt.datetime, types=("demo", "event", "form_submission")) -> None:
    """Activities one minute apart; demo 15 + event 12 + form 10 = 37 points."""
    for i, activity_type in enumerate(types):
        record_activity(contact, activity_type, occurred_at=at + i * MINUTE)


@pytest.fixture
def leads(make_contact, walk, people):
    """All created 27 March (leads). A, B (500 employees) and C, D (20 employees) engage on
    6 April and the current rule makes them MQL; A wins, B reaches SAL, C is sent to nurture,
    D waits. E (500) only visits the web; G (500) downloads once and clicks twice (14
    points): neither is qualified by either version."""
    made = {}
    for name, employees in (("A", 500), ("B", 500), ("C", 20), ("D", 20), ("E", 500), ("G", 500)):
        made[name] = make_contact(at=T0 - 10 * DAY, employees=employees)
    for name in "ABCD":
        engage(made[name], T0)
        assert stage_of(made[name]) == "mql", name
    engage(made["E"], T0, ("web_visit", "web_visit", "web_visit"))
    engage(made["G"], T0, ("content_download", "email_click", "email_click"))
    walk(made["A"], [("sal", T0 + DAY)])
    deal = qualify(made["A"], actor=people.is_rep, name="Pilot", amount=1_000_000, at=T0 + 2 * DAY)
    walk(made["A"], [("opportunity", T0 + 2 * DAY + MINUTE)])
    win_deal(Deal.objects.get(pk=deal.pk), actor=people.fs_rep, at=T0 + 20 * DAY)
    walk(made["B"], [("sal", T0 + DAY)])
    walk(made["C"], [("reject:no_need_now", T0 + DAY)])
    assert [stage_of(made[n]) for n in "ABCDEG"] == ["won", "sal", "nurture", "mql", "lead", "lead"]
    return made


def groups_of(data: dict) -> dict[str, dict]:
    return {
        g["group"]: {"subjects": g["subjects"], **{r["stage"]: r["reached"] for r in g["reached"]}}
        for g in data["groups"]
    }


def test_a_stricter_rule_leaves_out_the_people_who_never_converted(leads, analytics):
    spec = Spec(**APRIL, options={"candidate": STRICTER})
    data = backtest.compute(analytics(as_of=AS_OF), spec).as_dict()
    assert data["stages"] == ["mql", "sal", "sql", "opportunity", "won"]
    assert data["current"]["version"] == 1 and data["candidate"]["source"] == "options"
    assert data["evaluated"]["subjects"] == 6
    assert data["evaluated"]["stays"] == 7  # six lead stays and C's nurture stay
    groups = groups_of(data)
    row = {"mql": 2, "sal": 2, "sql": 1, "opportunity": 1, "won": 1}
    assert groups["both"] == {"subjects": 2, **row}  # A and B
    assert groups["candidate_only"] == {
        "subjects": 0,
        "mql": 0,
        "sal": 0,
        "sql": 0,
        "opportunity": 0,
        "won": 0,
    }
    assert groups["current_only"] == {"subjects": 2, "mql": 2, "sal": 0, "sql": 0, "opportunity": 0, "won": 0}
    assert groups["neither"] == {"subjects": 2, "mql": 0, "sal": 0, "sql": 0, "opportunity": 0, "won": 0}
    assert groups["candidate"] == groups["both"]
    assert groups["current"] == {"subjects": 4, "mql": 4, "sal": 2, "sql": 1, "opportunity": 1, "won": 1}
    comparison = {c["stage"]: c for c in data["comparison"]}
    assert comparison["sal"]["candidate"] == {"numerator": 2, "denominator": 2, "value": 1.0, "small": True}
    assert comparison["sal"]["current"]["value"] == 0.5
    assert comparison["sal"]["difference"] == 0.5
    assert comparison["won"]["difference"] == 0.25  # 1/2 against 1/4
    # the reference moment is 1 April (they were leads before the window): 60 days to 31 May
    assert data["groups"][0]["median_days_observed"] == 60.0


def test_a_file_and_a_stored_version_as_candidates(leads, analytics, tmp_path):
    """The stricter rule from a file; then published (it becomes current) and the old
    version 1 tried as the candidate: the groups swap."""
    from kyogyo.journey.actions import publish_rule
    from kyogyo.journey.rulefile import parse

    path = tmp_path / "stricter.yaml"
    path.write_text(yaml.safe_dump(STRICTER), encoding="utf-8")
    context = analytics(as_of=AS_OF)
    from_file = backtest.compute(context, Spec(**APRIL, options={"rule_file": str(path)})).as_dict()
    assert from_file["candidate"]["source"] == "file"
    assert groups_of(from_file)["current_only"]["subjects"] == 2
    publish_rule(parse(STRICTER)[0], note="fewer, better MQLs")
    old = backtest.compute(context, Spec(**APRIL, options={"rule": "mql-fit-engagement", "version": 1}))
    data = old.as_dict()
    assert (data["candidate"]["version"], data["current"]["version"]) == (1, 2)
    groups = groups_of(data)
    assert groups["candidate_only"]["subjects"] == 2 and groups["candidate_only"]["sal"] == 0
    assert groups["current_only"]["subjects"] == 0
    assert {c["stage"]: c["difference"] for c in data["comparison"]}["sal"] == -0.5


def test_facts_are_as_of_each_moment_not_as_of_now(make_contact, analytics):
    """H engages only in May: a lead all April, qualified by nobody in April although today's
    facts would qualify it. J downloaded twice in March: a 'two downloads in 30 days' rule
    holds on 1 April (10 and 12 March are within 30 days) but no longer after 11 April."""
    h = make_contact(at=T0 - 10 * DAY)
    engage(h, T0 + 34 * DAY)
    assert stage_of(h) == "mql"
    j = make_contact(at=dt.datetime(2026, 3, 1, tzinfo=TOKYO))
    for day in (10, 12):
        record_activity(j, "content_download", occurred_at=dt.datetime(2026, 3, day, 9, tzinfo=TOKYO))
    candidate = {
        "key": "mql-fit-engagement",
        "stage": "mql",
        "from": ["lead"],
        "when": {"count": ["content_download"], "within_days": 30, "op": "gte", "value": 2},
    }
    context = analytics(as_of=AS_OF)
    april = groups_of(backtest.compute(context, Spec(**APRIL, options={"candidate": candidate})).as_dict())
    assert april["current"]["subjects"] == 0  # H's May activities do not count in April
    assert april["candidate_only"]["subjects"] == 1  # J, on 1 April
    late = Spec(start=dt.date(2026, 4, 12), end=dt.date(2026, 4, 30), options={"candidate": candidate})
    assert groups_of(backtest.compute(context, late).as_dict())["candidate"]["subjects"] == 0
    may = Spec(start=dt.date(2026, 5, 1), end=dt.date(2026, 5, 31), options={"candidate": candidate})
    assert groups_of(backtest.compute(context, may).as_dict())["current"] == {
        "subjects": 1,
        "mql": 1,
        "sal": 0,
        "sql": 0,
        "opportunity": 0,
        "won": 0,
    }


def test_moments_between_activities_are_found(make_contact, analytics):
    """One demo (15 points, 30-day half-life) on 6 April 10:00: the score passes 12 after
    30 × log2(15/12) = 9.66 days and 10 after 17.5 days; a rule wanting 10 ≤ score ≤ 12
    holds only in between — at no activity and at neither end of April. Likewise a
    'between 20 and 20.5 days in stage' rule holds only on 21 April."""
    k = make_contact(at=dt.datetime(2026, 4, 1, tzinfo=TOKYO))
    record_activity(k, "demo", occurred_at=T0)

    def qualified(when: dict) -> int:
        candidate = {"key": "try-window", "stage": "mql", "from": ["lead"], "when": when}
        data = backtest.compute(
            analytics(as_of=AS_OF), Spec(**APRIL, options={"candidate": candidate})
        ).as_dict()
        assert data["current"] is None and any("new rule" in n for n in data["notes"])
        return groups_of(data)["candidate_only"]["subjects"]

    between = {"metric": "engagement_score", "op": "gte", "value": 10}
    below = {"metric": "engagement_score", "op": "lte", "value": 12}
    assert qualified({"all": [between, below]}) == 1
    assert qualified({"all": [{"metric": "engagement_score", "op": "gte", "value": 15.5}]}) == 0
    days = [
        {"metric": "days_in_stage", "op": "gt", "value": 20},
        {"metric": "days_in_stage", "op": "lt", "value": 20.5},
    ]
    assert qualified({"all": days}) == 1
    assert (
        qualified({"all": [*days, {"not": {"count": ["demo"], "within_days": 14, "op": "gte", "value": 1}}]})
        == 1
    )
    assert qualified({"all": [*days, {"count": ["demo"], "within_days": 14, "op": "gte", "value": 1}]}) == 0


def test_horizon_and_chosen_stages(leads, analytics):
    """A won 20 days after 6 April: within a 30-day horizon from 1 April, not within 20."""
    spec = Spec(**APRIL, horizon_days=30, options={"candidate": STRICTER, "stages": ["sal", "won"]})
    data = backtest.compute(analytics(as_of=AS_OF), spec).as_dict()
    assert data["stages"] == ["sal", "won"]
    assert groups_of(data)["both"] == {"subjects": 2, "sal": 2, "won": 1}
    short = Spec(**APRIL, horizon_days=20, options={"candidate": STRICTER, "stages": ["sal", "won"]})
    assert groups_of(backtest.compute(analytics(as_of=AS_OF), short).as_dict())["both"]["won"] == 0


def test_filters_narrow_the_people(leads, analytics):
    leads["A"].account.segment = "solo"
    leads["A"].account.save()
    spec = Spec(**APRIL, filters={"segment": "solo"}, options={"candidate": STRICTER})
    data = backtest.compute(analytics(as_of=AS_OF), spec).as_dict()
    assert data["evaluated"]["subjects"] == 1
    assert groups_of(data)["both"]["won"] == 1
    assert data["groups"][0]["reached"][0]["rate"]["small"] is True


# ------------------------------------------------------------------ edge cases


def test_nobody_in_the_from_stages_gives_empty_groups_without_rates(defaults, analytics):
    data = backtest.compute(analytics(as_of=AS_OF), Spec(**APRIL, options={"candidate": STRICTER})).as_dict()
    assert data["evaluated"] == {"subjects": 0, "stays": 0, "moments": 0}
    assert all(g["subjects"] == 0 and g["median_days_observed"] is None for g in data["groups"])
    assert all(c["difference"] is None and c["candidate"]["value"] is None for c in data["comparison"])
    assert any("nobody" in n for n in data["notes"])


def test_the_default_window_is_the_last_90_days(defaults, analytics):
    data = backtest.compute(analytics(as_of=AS_OF), Spec(options={"candidate": STRICTER})).as_dict()
    assert (data["from"], data["to"]) == ("2026-03-03", "2026-05-31")


def test_a_rule_leaving_the_path_is_followed_by_what_comes_after_its_from_stages(defaults, analytics):
    candidate = {
        "key": "nurture-idle-lead",
        "stage": "nurture",
        "from": ["lead"],
        "when": {"metric": "days_in_stage", "op": "gte", "value": 20},
    }
    data = backtest.compute(analytics(as_of=AS_OF), Spec(**APRIL, options={"candidate": candidate})).as_dict()
    assert data["stages"] == ["mql", "sal", "sql", "opportunity", "won"]


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"options": {}}, "no_candidate"),
        ({"options": {"version": 1}}, "no_candidate"),
        ({"options": {"rule": "mql-fit-engagement", "version": 99}}, "unknown_version"),
        ({"options": {"candidate": STRICTER, "rule_file": "x.yaml"}}, "several_candidates"),
        ({"options": {"candidate": {**STRICTER, "from": ["mql"]}}}, "bad_rule"),
        (
            {"options": {"candidate": {**STRICTER, "when": {"metric": "shoe_size", "op": "gt", "value": 1}}}},
            "bad_rule",
        ),
        ({"options": {"rule_file": "/nonexistent/rule.yaml"}}, "bad_rule"),
        ({"options": {"candidate": [STRICTER, {**STRICTER, "key": "other"}]}}, "pick_one_rule"),
        ({"options": {"candidate": STRICTER, "stages": ["nope"]}}, "unknown_stage"),
        ({"start": dt.date(2026, 7, 1), "options": {"candidate": STRICTER}}, "window_in_future"),
        ({"by": ("segment",), "options": {"candidate": STRICTER}}, "unsupported_slice"),
        ({"unit": "account", "options": {"candidate": STRICTER}}, "unsupported_unit"),
        ({"filters": {"shoe_size": "9"}, "options": {"candidate": STRICTER}}, "unknown_dimension"),
    ],
)
def test_bad_input_is_refused_by_name(defaults, analytics, kwargs, code):
    with pytest.raises(SpecError) as caught:
        backtest.compute(analytics(as_of=AS_OF), Spec(**kwargs))
    assert caught.value.code == code


# ------------------------------------------------------------------ reference


def reference(
    candidate: dict, current: dict, start: dt.datetime, end: dt.datetime, as_of: dt.datetime, stages
):
    """Groups and reached counts in plain Python from the ORM rows. Both conditions hold
    best right at an activity (a score and counts of 'at least'), so checking each activity
    and both ends of each stay is exact for them."""
    from kyogyo.customers.models import Contact
    from kyogyo.journey import criteria, rulebook
    from kyogyo.journey.models import Transition
    from kyogyo.marketing.models import Activity
    from kyogyo.scoring.models import EngagementWeight, ScoringSettings

    weights = {w.activity_type: w.points for w in EngagementWeight.objects.all()}
    half_life = ScoringSettings.objects.get(pk=1).half_life_days
    rows = defaultdict(list)
    for t in (
        Transition.objects.filter(at__lte=as_of).select_related("to_stage").order_by("subject_id", "seq")
    ):
        rows[t.subject_id].append((t.to_stage.key, t.at))
    acts = defaultdict(list)
    for a in Activity.objects.order_by("occurred_at"):
        acts[a.contact_id].append((a.type, a.occurred_at))
    from_stages = set(candidate["from"]) | set(current["from"])
    qualified: dict[str, set[int]] = {"candidate": set(), "current": set()}
    reference_at: dict[int, dt.datetime] = {}
    for subject_id, moves in rows.items():
        contact = Contact.objects.select_related("account").get(pk=subject_id)
        for i, (stage, entered) in enumerate(moves):
            left = moves[i + 1][1] if i + 1 < len(moves) else None
            if stage not in from_stages or entered >= end or (left is not None and left < start):
                continue
            low, high = max(entered, start), min(left or as_of, end - dt.timedelta(microseconds=1), as_of)
            if high < low:
                continue
            reference_at[subject_id] = min(reference_at.get(subject_id, low), low)
            moments = [low, high, *(at for _, at in acts[subject_id] if low <= at <= high)]
            for name, rule in (("candidate", candidate), ("current", current)):
                if stage not in rule["from"]:
                    continue
                for at in moments:
                    before = [(k, w) for k, w in acts[subject_id] if w <= at]
                    times = defaultdict(list)
                    for k, w in before:
                        times[k].append(w)
                    facts = criteria.Facts(
                        now=at,
                        fields=rulebook.contact_fields(contact),
                        metrics={
                            "fit_score": contact.fit_score,
                            "engagement_score": sum(
                                weights.get(k, 0) * 0.5 ** ((at - w).total_seconds() / 86400 / half_life)
                                for k, w in before
                            ),
                            "days_in_stage": (at - entered).total_seconds() / 86400,
                        },
                        activity_times=times,
                    )
                    if criteria.matches(rule["when"], facts, rulebook.load_value_lists()):
                        qualified[name].add(subject_id)
                        break
    cand, cur, everyone = qualified["candidate"], qualified["current"], set(reference_at)
    groups = {"both": cand & cur, "candidate_only": cand - cur, "current_only": cur - cand}
    groups |= {"neither": everyone - cand - cur, "candidate": cand, "current": cur}
    result = {}
    for name, members in groups.items():
        reached = {
            stage: sum(
                1 for s in members if any(k == stage and reference_at[s] <= at <= as_of for k, at in rows[s])
            )
            for stage in stages
        }
        result[name] = {"subjects": len(members), **reached}
    return result


LOOSER = {
    "key": "mql-fit-engagement",
    "stage": "mql",
    "from": ["lead", "nurture"],
    "when": {
        "all": [
            {"metric": "engagement_score", "op": "gte", "value": 8},
            {
                "count": ["content_download", "web_visit", "email_click"],
                "within_days": 60,
                "op": "gte",
                "value": 1,
            },
        ]
    },
}


@pytest.mark.parametrize("which", ["example", "looser"])
def test_matches_a_plain_python_backtest_on_the_demo_company(defaults, analytics, which):
    """The example stricter rule (examples/rules/mql-stricter.yaml) and a looser one against
    the current default rule over a quarter of a 600-person demo company."""
    from kyogyo.demo.build import build

    build(seed=6, people=600, end=dt.date(2026, 10, 31), driver="bulk")
    example = Path(__file__).resolve().parents[3] / "examples" / "rules" / "mql-stricter.yaml"
    candidate = yaml.safe_load(example.read_text(encoding="utf-8")) if which == "example" else LOOSER
    options = {"rule_file": str(example)} if which == "example" else {"candidate": LOOSER}
    spec = Spec(start=dt.date(2026, 1, 1), end=dt.date(2026, 3, 31), options=options)
    data = backtest.compute(analytics(as_of=local(2026, 6, 30, 12, 0)), spec).as_dict()
    expected = reference(
        candidate,
        {"from": ["lead", "nurture"], "when": CURRENT},
        dt.datetime(2026, 1, 1, tzinfo=TOKYO),
        dt.datetime(2026, 4, 1, tzinfo=TOKYO),
        dt.datetime(2026, 6, 30, 12, tzinfo=TOKYO),
        data["stages"],
    )
    assert groups_of(data) == expected
    assert expected["current"]["subjects"] > 5 and expected["neither"]["subjects"] > 50
    if which == "looser":
        assert expected["candidate_only"]["subjects"] > 20


# ------------------------------------------------------------------ command line


def report(*args: str) -> str:
    out = io.StringIO()
    call_command("report", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_command_line_json_and_table(leads, tmp_path):
    path = tmp_path / "stricter.yaml"
    path.write_text(yaml.safe_dump(STRICTER), encoding="utf-8")
    common = ["--period", "2026-04", "--as-of", "2026-05-31", "--rule-file", str(path)]
    data = json.loads(report("backtest", "--format", "json", *common))
    assert data["metric"] == "backtest" and data["as_of"] == "2026-05-31T23:59:59"
    assert groups_of(data)["current_only"]["subjects"] == 2
    table = report("backtest", *common, "--stages", "sal,won")
    lines = table.splitlines()
    assert lines[0].split() == [
        "group",
        "subjects",
        "median_days_observed",
        "sal_reached",
        "sal_rate",
        "won_reached",
        "won_rate",
    ]
    assert lines[2].split()[:2] == ["both", "2"]
    stored = json.loads(
        report(
            "backtest",
            "--format",
            "json",
            "--period",
            "2026-04",
            "--rule",
            "mql-fit-engagement",
            "--version",
            "1",
        )
    )
    assert groups_of(stored)["candidate_only"]["subjects"] == 0


def test_command_line_names_what_to_fix(leads):
    with pytest.raises(CommandError, match="no_candidate"):
        report("backtest", "--period", "2026-04")
