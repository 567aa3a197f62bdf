"""The metrics over the API: ``/reports/{name}`` gives exactly what ``kyogyo report NAME
--format json`` prints for the same options (both run ``analytics.reports``), ``/plan`` the
backwards plan of ``kyogyo plan`` (never saved from here), ``/snapshot`` how fresh the
numbers are. Query parameters are the command's options by their long names
(``--stalled-limit`` → ``stalled_limit``); a report refuses options it does not take."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from ninja import Field, Path, Query, Router, Schema
from pydantic import Strict, StringConstraints, field_validator

from kyogyo.analytics import reports, snapshot
from kyogyo.analytics.metrics import forecast, plan
from kyogyo.analytics.output import plain
from kyogyo.analytics.spec import SpecError
from kyogyo.api.auth import user_of
from kyogyo.api.errors import ApiError, errors, forbidden
from kyogyo.api.params import MAX_ID, Day, Input, Key, Text40, Text200, Whole
from kyogyo.deals.api import MAX_AMOUNT, Currency
from kyogyo.org import access

router = Router(tags=["reports"])

MAX_SLICES = 4
MAX_FILTERS = 20
MAX_LIST = 10_000
# Options of the command line the API does not take: a rule file is a path on the server.
SERVER_ONLY = frozenset({"rule_file"})
# The API's names of the options the command line spells differently.
OPTION_NAMES = {"start": "from", "end": "to"}

Dimension = Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,40}$")]
Step = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_-]{1,40}:[a-z0-9_-]{1,40}$")]
Number = (
    Annotated[float, Strict()]
    | Annotated[str, StringConstraints(pattern=r"^\s*\d+(\.\d+)?\s*%?\s*$", max_length=20)]
)
ReportName = Annotated[
    str, Path(pattern=r"^[a-z0-9-]{1,40}$", description="kyogyo report NAME (GET /reports)")
]


# --- schemas ------------------------------------------------------------------------------


class ReportParams(Schema):
    """The options of ``kyogyo report``: the common ones, then each report's own."""

    start: Day | None = Field(None, alias="from", description="first day of the window")
    end: Day | None = Field(None, alias="to", description="last day of the window, inclusive")
    period: Text40 | None = Field(None, description="instead of from/to: YYYY-MM, YYYY, FYYYYY, FYYYYY-Qn")
    view: Literal["cohort", "period"] = "cohort"
    unit: Literal["person", "account"] = "person"
    by: list[Dimension] = Field([], max_length=MAX_SLICES, description="slice by (repeat for a grid)")
    filter: list[Text200] = Field([], max_length=MAX_FILTERS, description="DIMENSION=VALUE (repeatable)")
    horizon: int | None = Field(None, ge=1, le=36_500, description="cohort view: advances within DAYS")
    grain: Literal["week", "month", "quarter"] = "month"
    as_of: Day | None = Field(None, description="evaluate as if today were this date")
    # each report's own options (GET /reports says which report takes which)
    currency: Currency | None = None
    deal_size: int | None = Field(None, ge=1, le=MAX_AMOUNT)
    target: int | None = Field(None, ge=0, le=MAX_AMOUNT)
    plan: int | None = Field(None, ge=1, le=MAX_ID, description="plan-actual: a saved plan's id")
    stalled_limit: int | None = Field(None, ge=0, le=MAX_LIST)
    spend_teams: Text200 | None = Field(None, description="saas: comma-separated team keys")
    account: int | None = Field(None, ge=1, le=MAX_ID, description="health: only this account")
    limit: int | None = Field(None, ge=1, le=MAX_LIST, description="health: accounts listed")
    stages: Text200 | None = Field(None, description="comma-separated stage keys")
    simulations: int | None = Field(None, ge=1, le=forecast.MAX_SIMULATIONS)
    seed: int | None = Field(None, ge=0, le=MAX_ID)
    all_open: bool | None = None
    rule: Key | None = Field(None, description="backtest: the rule key")
    version: int | None = Field(None, ge=1, le=2_147_483_647, description="backtest: a stored version")
    dimension: Literal["deal_size", "company_size"] | None = None
    edges: Text200 | None = Field(None, description="bands: comma-separated edges")
    measure: Literal["pipeline", "revenue"] | None = None
    touch: Literal["campaign", "source"] | None = None

    @field_validator("filter")
    @classmethod
    def filters_name_a_dimension(cls, value: list[str]) -> list[str]:
        for text in value:
            reports.parse_filter(text)  # SpecError is a ValueError: pydantic names the item
        return value


class ReportOut(Schema):
    name: str
    help: str
    options: list[str] = Field(..., description="the report's own query parameters")


class SnapshotOut(Schema):
    exists: bool
    message: str | None = None
    generation: int | None = None
    built_at: dt.datetime | None = None
    refreshed_at: dt.datetime | None = None
    age_seconds: int | None = None
    counts: dict[str, int] = Field({}, description="rows per table")
    pending: dict[str, int] = Field({}, description="rows waiting for the next refresh")
    last: dict[str, Any] = Field({}, description="what the last refresh or rebuild did")


class PlanIn(Input):
    target: Whole = Field(..., ge=1, le=MAX_AMOUNT, description="revenue target in minor units")
    period: Text40 | None = Field(None, description="YYYY-MM, YYYY, FYYYYY or FYYYYY-Qn")
    start: Day | None = Field(None, alias="from", description="instead of period: first day")
    end: Day | None = Field(None, alias="to", description="last day, inclusive")
    deal_size: Whole | None = Field(None, ge=1, le=MAX_AMOUNT, description="default: measured")
    rates: dict[Step, Number] = Field(
        {}, max_length=40, description='given conversions, e.g. {"mql:sal": 0.8} or {"mql:sal": "80%"}'
    )
    capacity: dict[Key, Number] = Field(
        {}, max_length=10, description='items one person handles a month, e.g. {"inside_sales": 120}'
    )
    lookback_months: Whole = Field(plan.DEFAULT_LOOKBACK_MONTHS, ge=1, le=240)
    currency: Currency = plan.DEFAULT_CURRENCY
    as_of: Day | None = None


# --- refusals -----------------------------------------------------------------------------

# Codes naming a record that does not exist: 404 like any unknown id.
MISSING_CODES = frozenset({"unknown_plan", "unknown_account", "unknown_version"})
FIELD_OF_CODE = {
    "bad_window": "to",
    "no_period": "period",
    "unknown_stage": "stages",
    "bad_rate": "rates",
    "unknown_step": "rates",
    "no_rate": "rates",
    "bad_capacity": "capacity",
    "unknown_team": "capacity",
    "bad_lookback": "lookback_months",
    "no_candidate": "rule",
    "unknown_version": "version",
}
_OPTION = re.compile(r"--([a-z][a-z-]*)(?: ([A-Z][A-Z_]*)\b)?")


def _api_words(message: str, names: set[str]) -> str:
    """The command line's ``--plan ID`` is the API's ``plan=ID``."""

    def word(match: re.Match[str]) -> str:
        name = match[1].replace("-", "_")
        if name not in names:
            return match[0]
        return f"{name}={match[2]}" if match[2] else name

    return _OPTION.sub(word, message)


def _field_of(code: str, message: str, names: set[str]) -> str | None:
    if code == "unknown_dimension":
        return "filter" if "cannot filter" in message else "by"
    if code in FIELD_OF_CODE:
        return FIELD_OF_CODE[code]
    for prefix in ("bad_", "unknown_", "no_"):
        if code.startswith(prefix) and code.removeprefix(prefix) in names:
            return code.removeprefix(prefix)
    return None


@contextmanager
def _refusals(names: set[str]) -> Iterator[None]:
    """The analytics' own refusals in the API's error format."""
    try:
        yield
    except SpecError as exc:
        message = _api_words(str(exc), names)
        field = _field_of(exc.code, str(exc), names)
        details = [{"field": field, "code": exc.code, "message": message}] if field else []
        status = 404 if exc.code in MISSING_CODES else 422
        raise ApiError(status, exc.code, message, details=details) from exc
    except snapshot.SnapshotError as exc:
        headers = {"Retry-After": "30"} if exc.code == "busy" else {}
        raise ApiError(503, exc.code, str(exc), headers=headers) from exc


def _require_reader(request: HttpRequest) -> None:
    if not access.can_read_reports(user_of(request)):
        raise forbidden("only members of a team can read the reports")


# --- reports ------------------------------------------------------------------------------

REPORT_PARAMS = {OPTION_NAMES.get(name, name) for name in reports.common_options()}


def api_options(name: str) -> list[str]:
    """The query parameters report ``name`` takes beside the common ones."""
    return [o for o in reports.own_options(name) if o not in SERVER_ONLY]


def _unknown_report(name: str) -> ApiError:
    known = ", ".join(reports.names())
    return ApiError(
        404,
        "not_found",
        f"no report {name!r}; reports: {known}",
        details=[{"field": "name", "code": "not_found", "message": "no such report"}],
    )


def _check_parameters(request: HttpRequest, name: str) -> set[str]:
    """Refuse query parameters the report does not take, naming them (a typo would
    otherwise give numbers the caller did not ask for)."""
    takes = REPORT_PARAMS | set(api_options(name))
    wrong = sorted(set(request.GET) - takes)
    if wrong:
        own = ", ".join(api_options(name)) or "none"
        raise ApiError(
            422,
            "unknown_option",
            f"report {name!r} does not take {', '.join(wrong)}; its own options: {own}",
            details=[
                {"field": w, "code": "unknown_option", "message": "not an option of this report"}
                for w in wrong
            ],
        )
    return takes


def _options(name: str, params: ReportParams) -> dict[str, Any]:
    """The options as the command line would have parsed them, defaults included."""
    options: dict[str, Any] = {
        "start": params.start,
        "end": params.end,
        "period": params.period,
        "view": params.view,
        "unit": params.unit,
        "by": list(params.by),
        "filter": [reports.parse_filter(text) for text in params.filter],
        "horizon": params.horizon,
        "grain": params.grain,
        "as_of": params.as_of,
    }
    for option, default in reports.own_defaults(name).items():
        given = getattr(params, option, None)
        options[option] = default if given is None else given
    return options


@router.get("/reports", response={200: list[ReportOut], **errors()}, summary="The reports and their options")
def list_reports(request: HttpRequest):
    _require_reader(request)
    return [
        {"name": name, "help": module.HELP, "options": api_options(name)}
        for name, module in reports.modules().items()
    ]


@router.get(
    "/reports/{name}",
    response={200: dict[str, Any], **errors(404, 503)},
    summary="One report: the JSON of `kyogyo report NAME --format json` (shapes: docs/analytics.md)",
)
def get_report(request: HttpRequest, name: ReportName, params: Query[ReportParams]):
    _require_reader(request)
    if name not in reports.names():
        raise _unknown_report(name)
    names = _check_parameters(request, name)
    with _refusals(names):
        _, data = reports.run(name, _options(name, params))
    return plain(data)


@router.post(
    "/plan",
    # 409: a second copy of a request with the same Idempotency-Key while the first runs
    response={200: dict[str, Any], **errors(409, 503)},
    summary="Plan backwards from a revenue target: `kyogyo plan --format json` (not saved)",
)
def make_plan(request: HttpRequest, payload: PlanIn):
    _require_reader(request)
    options = {
        "target": str(payload.target),
        "period": payload.period,
        "start": payload.start,
        "end": payload.end,
        "deal_size": str(payload.deal_size) if payload.deal_size else None,
        "rate": [f"{step}={value}" for step, value in payload.rates.items()],
        "capacity": [f"{team}={value}" for team, value in payload.capacity.items()],
        "lookback_months": payload.lookback_months,
        "currency": payload.currency,
        "as_of": payload.as_of,
    }
    with _refusals(set(PlanIn.model_fields) | {"from", "to", "rates", "capacity"}):
        _, result = reports.make_plan(options)
    return plain(result.as_dict())


@router.get(
    "/snapshot", response={200: SnapshotOut, **errors(503)}, summary="How fresh the analytics snapshot is"
)
def snapshot_status(request: HttpRequest):
    _require_reader(request)
    with _refusals(set()):
        data = snapshot.status()
    data.pop("file", None)  # a path on the server
    return data
