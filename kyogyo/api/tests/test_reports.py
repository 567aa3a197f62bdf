"""/api/reports, /api/plan and /api/snapshot through HTTP: the same JSON as `kyogyo report NAME
--format json` and `kyogyo plan --format json` for the same options, and clear refusals."""

from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from kyogyo.analytics import reports, snapshot
from kyogyo.analytics.snapshot import SnapshotError
from kyogyo.testing import T0

DAY = dt.timedelta(days=1)


def cli(command: str, *args: str) -> dict[str, Any]:
    out = io.StringIO()
    call_command(command, *args, "--format", "json", stdout=out, stderr=io.StringIO())
    return json.loads(out.getvalue())


def without_age(data: dict[str, Any]) -> dict[str, Any]:
    # the one figure that moves between two calls: seconds since the snapshot's refresh
    data.get("snapshot", {}).pop("age_seconds", None)
    return data


@pytest.fixture
def journeys(make_contact, walk):
    """Three people in April 2026: two became MQL, one of them SAL (the waterfall of
    docs/analytics.md: lead entered 3, advanced 2, conversion 2/3)."""
    walk(make_contact(at=T0), [("mql", T0 + DAY), ("sal", T0 + 2 * DAY)])
    walk(make_contact(at=T0), [("mql", T0 + 3 * DAY)])
    make_contact(at=T0)


def test_the_waterfall_is_the_commands_json(api, people, journeys):
    answer = api(people.marketer).get("/reports/waterfall", {"from": "2026-04-01", "to": "2026-04-30"})
    assert answer.status_code == 200
    data = answer.json()
    lead = data["stages"][0]
    assert (lead["stage"], lead["entered"], lead["advanced"], lead["conversion_rate"]) == (
        "lead",
        3,
        2,
        0.6667,
    )
    assert lead["conversion"] == {"numerator": 2, "denominator": 3, "value": 0.6667, "small": True}
    assert (data["from"], data["to"], data["snapshot"]["generation"]) == ("2026-04-01", "2026-04-30", 1)
    assert without_age(data) == without_age(
        cli("report", "waterfall", "--from", "2026-04-01", "--to", "2026-04-30")
    )


@pytest.mark.parametrize("name", reports.names())
def test_every_report_answers_as_the_command_does(api, people, journeys, name):
    answer = api(people.manager).get(f"/reports/{name}")
    try:
        expected = cli("report", name)
    except CommandError as exc:  # a report that needs an option refuses alike
        assert answer.status_code == 422, answer.json()
        assert str(exc).startswith(answer.json()["error"]["code"] + ":")
        return
    assert answer.status_code == 200, answer.json()
    assert without_age(answer.json()) == without_age(expected)


def test_slices_filters_and_own_options(api, people, journeys):
    client = api(people.is_rep)
    sliced = client.get("/reports/waterfall", {"by": ["segment", "month"]}).json()
    assert sliced["by"] == ["segment", "month"]
    assert sliced["slices"][0]["keys"] == {"segment": "(none)", "month": "2026-04"}
    assert without_age(sliced) == without_age(cli("report", "waterfall", "--by", "segment", "--by", "month"))
    filtered = client.get("/reports/waterfall", {"filter": "country=JP", "view": "period"}).json()
    assert filtered["filters"] == {"country": "JP"} and filtered["view"] == "period"
    assert filtered["stages"][0]["entered"] == 3
    assert client.get("/reports/waterfall", {"filter": "country=FR"}).json()["stages"][0]["entered"] == 0
    flow = client.get("/reports/flow", {"stalled_limit": 1, "period": "2026-04"}).json()
    assert flow["stalled_limit"] == 1
    assert without_age(flow) == without_age(
        cli("report", "flow", "--stalled-limit", "1", "--period", "2026-04")
    )


def test_the_list_of_reports(api, people):
    answer = api(people.csm).get("/reports")
    assert answer.status_code == 200
    listed = {r["name"]: r for r in answer.json()}
    assert list(listed) == reports.names()
    assert listed["flow"]["options"] == ["stalled_limit"]
    assert listed["backtest"]["options"] == ["rule", "version", "stages"]  # no file paths on the server
    assert listed["waterfall"]["help"].startswith("entered and advanced")


def test_every_option_of_the_command_is_a_query_parameter():
    from kyogyo.analytics.api import REPORT_PARAMS, SERVER_ONLY, ReportParams

    parameters = {field.alias or name for name, field in ReportParams.model_fields.items()}
    assert parameters >= REPORT_PARAMS
    for name in reports.names():
        missing = set(reports.own_options(name)) - SERVER_ONLY - parameters
        assert not missing, f"report {name} takes {missing} on the command line but not over the API"


@pytest.mark.parametrize(
    ("params", "status", "code", "field"),
    [
        ({"by": "shoe_size"}, 422, "unknown_dimension", "by"),
        ({"filter": "shoe_size=42"}, 422, "unknown_dimension", "filter"),
        ({"filter": "segment"}, 422, "invalid", "filter"),
        ({"period": "2026-13"}, 422, "bad_period", "period"),
        ({"period": "2026-04", "from": "2026-04-01"}, 422, "bad_window", "to"),
        ({"from": "2026-05-01", "to": "2026-04-01"}, 422, "bad_window", "to"),
        ({"from": "20.04.2026"}, 422, "invalid", "from"),
        ({"view": "weekly"}, 422, "invalid", "view"),
        ({"horizon": 0}, 422, "invalid", "horizon"),
        ({"stages": "lead,nope"}, 422, "unknown_stage", "stages"),
        ({"stalled_limit": 3}, 422, "unknown_option", "stalled_limit"),
        ({"bye": "month"}, 422, "unknown_parameter", "bye"),  # no report takes it
        ({"limit": 5}, 422, "unknown_option", "limit"),
    ],
)
def test_waterfall_refusals_name_the_parameter(api, people, params, status, code, field):
    answer = api(people.marketer).get("/reports/waterfall", params)
    assert answer.status_code == status, answer.json()
    error = answer.json()["error"]
    assert error["code"] == code and error["details"][0]["field"] == field
    assert "--" not in error["message"]


def test_other_refusals(api, people, defaults):
    client = api(people.marketer)
    unknown = client.get("/reports/shoe-size")
    assert unknown.status_code == 404 and "waterfall" in unknown.json()["error"]["message"]
    assert client.get("/reports/Waterfall!").status_code == 422
    missing_plan = client.get("/reports/plan-actual", {"plan": 999})
    assert missing_plan.status_code == 404 and missing_plan.json()["error"]["code"] == "unknown_plan"
    assert (
        client.get("/reports/plan-actual")
        .json()["error"]["message"]
        .startswith("give the saved plan with plan=ID")
    )
    assert client.get("/reports/flow", {"stalled_limit": -1}).status_code == 422
    assert client.get("/reports/health", {"account": 999_999}).status_code == 404
    assert client.get("/reports/bands", {"dimension": "shoe_size"}).status_code == 422
    assert client.get("/reports/forecast", {"simulations": 10**7}).status_code == 422


@pytest.mark.parametrize("path", ["/reports", "/reports/waterfall", "/snapshot"])
def test_outsiders_read_no_numbers(api, people, path):
    assert api(people.outsider).get(path).status_code == 403


def test_a_busy_snapshot_is_503_with_retry_after(api, people, defaults, monkeypatch):
    def busy(**_: Any) -> None:
        raise SnapshotError("busy", "another snapshot refresh is running; try again when it has finished")

    monkeypatch.setattr(snapshot, "refresh", busy)
    answer = api(people.marketer).get("/reports/waterfall")
    assert answer.status_code == 503 and answer["Retry-After"] == "30"
    assert answer.json()["error"]["code"] == "busy"


# --- snapshot -----------------------------------------------------------------------------


def test_snapshot_freshness(api, people, journeys):
    client = api(people.fs_rep)
    assert client.get("/snapshot").json() == {
        "exists": False,
        "message": "no snapshot yet: run `kyogyo snapshot refresh`",
        "generation": None,
        "built_at": None,
        "refreshed_at": None,
        "age_seconds": None,
        "counts": {},
        "pending": {},
        "last": {},
    }
    client.get("/reports/waterfall")  # built on first use
    status = client.get("/snapshot").json()
    assert (status["exists"], status["generation"], status["counts"]["subjects"]) == (True, 1, 3)
    assert status["pending"]["transitions"] == 0 and status["last"]["kind"] == "rebuild"
    assert "file" not in status  # a path on the server is nobody's business


# --- plan ---------------------------------------------------------------------------------

RATES = {"lead:mql": 0.1, "mql:sal": "80%", "sal:sql": 0.5, "sql:opportunity": 0.8, "opportunity:won": 0.25}


def test_the_plan_works_backwards_as_the_command_does(api, people, defaults):
    body = {"target": 120_000_000, "deal_size": 2_000_000, "period": "FY2026", "rates": RATES}
    answer = api(people.manager).post("/plan", {**body, "capacity": {"inside_sales": 120}})
    assert answer.status_code == 200, answer.json()
    data = answer.json()
    # 120,000,000 ÷ 2,000,000 = 60 wins; ÷ 0.25 = 240 opportunities; ÷ 0.8 = 300 SQLs;
    # ÷ 0.5 = 600 SALs; ÷ 0.8 = 750 MQLs; ÷ 0.1 = 7,500 leads
    assert data["wins"] == 60
    assert [s["required"] for s in data["stages"]] == [7500, 750, 600, 300, 240, 60]
    assert (data["from"], data["to"]) == ("2026-04-01", "2027-03-31") and "saved" not in data
    args = ["--target", "120000000", "--deal-size", "2000000", "--period", "FY2026"]
    for step, rate in RATES.items():
        args += ["--rate", f"{step}={rate}"]
    expected = cli("plan", *args, "--capacity", "inside_sales=120")
    assert without_age(data) == without_age(expected)


def test_plan_refusals(api, people, defaults):
    client = api(people.manager)
    assert client.post("/plan", {"period": "FY2026"}).json()["error"]["details"][0]["field"] == "target"
    no_period = client.post("/plan", {"target": 1})
    assert no_period.status_code == 422 and no_period.json()["error"]["code"] == "no_period"
    bad_rate = client.post("/plan", {"target": 1, "period": "FY2026", "rates": {"mql:sal": 1.5}})
    assert bad_rate.status_code == 422 and bad_rate.json()["error"]["details"][0]["field"] == "rates"
    bad_step = client.post("/plan", {"target": 1, "period": "FY2026", "rates": {"mql": 0.5}})
    assert bad_step.status_code == 422
    team = client.post("/plan", {"target": 1, "period": "FY2026", "capacity": {"sales": 3}})
    assert team.status_code == 422 and team.json()["error"]["code"] == "unknown_team"
    assert client.post("/plan", {"target": 1, "from": "2026-05-01", "to": "2026-04-01"}).status_code == 422
    assert api(people.outsider).post("/plan", {"target": 1, "period": "FY2026"}).status_code == 403
    assert api(people.manager, scope="read").post("/plan", {"target": 1}).status_code == 403
