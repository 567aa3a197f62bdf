"""/api/stages, /api/reasons and /api/rules through HTTP: the configuration read-only, whole
lists in their configured order, a rule with every version and its definition."""

from __future__ import annotations

import pytest

from kyogyo.journey import actions, rulefile
from kyogyo.journey.models import Rule


def test_stages_with_their_exits_and_handoffs(api, people, django_assert_max_num_queries):
    client = api(people.marketer)
    client.get("/me")
    # the token, the rate counter (and the savepoint pair around it in a test), stages, exits
    with django_assert_max_num_queries(6):
        answer = client.get("/stages")
    assert answer.status_code == 200 and answer.json()["next_cursor"] is None
    stages = {s["key"]: s for s in answer.json()["items"]}
    assert list(stages)[:5] == ["lead", "mql", "sal", "sql", "opportunity"]
    mql = stages["mql"]
    assert (mql["team"], mql["hands_to"], mql["accept_to"], mql["sla_hours"]) == (
        "marketing",
        "inside_sales",
        "sal",
        8,
    )
    assert mql["exits"] == ["disqualified", "lead", "nurture", "sal"]
    assert stages["lead"]["is_entry"] and stages["disqualified"]["team"] is None
    assert stages["disqualified"]["category"] == "exit"


def test_reasons_by_kind(api, people, django_assert_max_num_queries):
    client = api(people.fs_rep)
    client.get("/me")
    with django_assert_max_num_queries(5):
        everything = client.get("/reasons").json()["items"]
    assert {r["kind"] for r in everything} == {"reject", "disqualify", "loss"}
    loss = client.get("/reasons", {"kind": "loss"}).json()["items"]
    assert loss[0]["key"] == "no_decision" and {r["kind"] for r in loss} == {"loss"}
    reject = {r["key"]: r for r in client.get("/reasons", {"kind": "reject"}).json()["items"]}
    assert reject["not_a_fit"]["sends_to"] == "disqualified" and reject["incomplete_info"]["sends_to"] is None
    assert client.get("/reasons", {"kind": "win"}).status_code == 422


def test_rules_list_and_one_rule_with_versions(api, people, django_assert_max_num_queries):
    (candidate,) = rulefile.parse(
        {
            "key": "mql-fit-engagement",
            "stage": "mql",
            "from": ["lead", "nurture"],
            "priority": 50,
            "when": {"all": [{"metric": "fit_score", "op": "gte", "value": 70}]},
        }
    )
    actions.publish_rule(candidate, actor=people.admin, note="stricter")
    client = api(people.csm)
    client.get("/me")
    with django_assert_max_num_queries(5):
        rules = client.get("/rules").json()["items"]
    by_key = {r["key"]: r for r in rules}
    assert [r["priority"] for r in rules] == sorted(r["priority"] for r in rules)
    mql = by_key["mql-fit-engagement"]
    assert (mql["stage"], mql["version"], mql["from_stages"], mql["when"]) == (
        "mql",
        2,
        ["lead", "nurture"],
        "fit score ≥ 70",
    )
    # the token, the rate counter (and its savepoint pair), the rule, its versions
    with django_assert_max_num_queries(6):
        one = client.get(f"/rules/{mql['id']}")
    assert one.status_code == 200 and one["ETag"]
    versions = one.json()["versions"]
    assert [(v["number"], v["current"]) for v in versions] == [(1, False), (2, True)]
    assert versions[1]["definition"] == {"all": [{"metric": "fit_score", "op": "gte", "value": 70}]}
    assert (versions[1]["note"], versions[1]["created_by"]) == ("stricter", "admin")
    assert [r["key"] for r in client.get("/rules", {"stage": "mql"}).json()["items"]] == [
        "mql-fit-engagement"
    ]
    Rule.objects.filter(key="nurture-idle-lead").update(active=False)
    assert "nurture-idle-lead" not in [
        r["key"] for r in client.get("/rules", {"active": "true"}).json()["items"]
    ]
    assert [r["key"] for r in client.get("/rules", {"active": "false"}).json()["items"]] == [
        "nurture-idle-lead"
    ]


@pytest.mark.parametrize("path", ["/stages", "/reasons", "/rules"])
def test_outsiders_read_nothing(api, people, path):
    refused = api(people.outsider).get(path)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"


def test_unknown_and_unreadable_rule_answer_alike(api, people):
    rule = Rule.objects.first()
    assert rule is not None
    unknown = api(people.marketer).get("/rules/999999")
    hidden = api(people.outsider).get(f"/rules/{rule.pk}")
    assert unknown.status_code == hidden.status_code == 404 and unknown.json() == hidden.json()


def test_the_configuration_is_read_only(api, people):
    # publishing stays on the command line (kyogyo rules publish), where it is previewed first
    assert api(people.admin).post("/rules", {"key": "x"}).status_code == 405
