"""Running a report by name from its options: the one path behind ``kyogyo report NAME``,
``kyogyo plan`` and the API's ``/reports/{name}`` and ``/plan``, so every surface gives the
same numbers for the same options.

Options are what the command line parses (``--from`` → ``start``, ``--filter`` →
``filter`` as (dimension, value) pairs, a report's own options by their argparse names);
each report declares its own options with ``add_arguments`` and turns them into
``Spec.options`` with ``options`` (see ``metrics/base.py``)."""

from __future__ import annotations

import argparse
import datetime as dt
import pickle
from collections.abc import Callable, Mapping
from fractions import Fraction
from types import ModuleType
from typing import Any

from kyogyo.analytics import metrics, snapshot
from kyogyo.analytics.metrics import plan
from kyogyo.analytics.metrics.base import Context
from kyogyo.analytics.models import AnalyticsSettings
from kyogyo.analytics.spec import Spec, SpecError, parse_period

# Options only the command line has: where the output goes and how it looks.
OUTPUT_OPTIONS = frozenset({"format", "output", "refresh", "help"})

# Reports that read operational tables besides the snapshot (the rules being backtested,
# saved plans): computed on every run. Every other report is a function of the snapshot
# generation, the analytics settings, "now" and its spec alone, so its result is kept with
# the generation (``cached_result``).
LIVE_REPORTS = frozenset({"backtest", "plan-actual"})
PROTOCOL = pickle.HIGHEST_PROTOCOL


def date_argument(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def parse_filter(text: str) -> tuple[str, str]:
    """``segment=smb`` → ("segment", "smb")."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise SpecError("bad_filter", f"{text!r}: write a filter as DIMENSION=VALUE, e.g. segment=smb")
    return name.strip(), value


def filter_argument(text: str) -> tuple[str, str]:
    try:
        return parse_filter(text)
    except SpecError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--from", dest="start", type=date_argument, help="first day of the window (YYYY-MM-DD)"
    )
    parser.add_argument("--to", dest="end", type=date_argument, help="last day of the window, inclusive")
    parser.add_argument(
        "--period",
        help="instead of --from/--to: YYYY-MM, YYYY, FYYYYY or FYYYYY-Qn (fiscal year start is a setting)",
    )
    parser.add_argument("--view", choices=["cohort", "period"], default="cohort", help="default cohort")
    parser.add_argument("--unit", choices=["person", "account"], default="person", help="default person")
    parser.add_argument(
        "--by",
        action="append",
        default=[],
        metavar="DIMENSION",
        help="slice by segment, industry, country, source, campaign, team, owner, company_size, month, "
        "quarter (repeat for a grid, e.g. --by month --by segment)",
    )
    parser.add_argument(
        "--filter",
        action="append",
        default=[],
        type=filter_argument,
        metavar="DIM=VALUE",
        help="keep only these",
    )
    parser.add_argument("--horizon", type=int, metavar="DAYS", help="cohort view: count advances within DAYS")
    parser.add_argument(
        "--grain", choices=["week", "month", "quarter"], default="month", help="time-series step"
    )
    parser.add_argument(
        "--as-of", type=date_argument, help="evaluate as if today were this date (default: snapshot time)"
    )
    parser.add_argument("--refresh", action="store_true", help="refresh the snapshot first")
    parser.add_argument(
        "--format", choices=["table", "json", "csv", "xlsx"], default="table", help="default table"
    )
    parser.add_argument(
        "--output", metavar="FILE", help="write to FILE instead of stdout (required for xlsx)"
    )


def names() -> list[str]:
    return list(metrics.MODULES)


def modules() -> dict[str, ModuleType]:
    return metrics.registry()


def own_defaults(name: str) -> dict[str, Any]:
    """The options report ``name`` takes beside the common ones (by their argparse names),
    with the defaults the command line gives them."""
    module = metrics.load(name)
    parser = argparse.ArgumentParser(add_help=False)
    if hasattr(module, "add_arguments"):
        module.add_arguments(parser)
    return {action.dest: action.default for action in parser._actions}


def own_options(name: str) -> list[str]:
    return list(own_defaults(name))


def common_options() -> list[str]:
    parser = argparse.ArgumentParser(add_help=False)
    add_common_arguments(parser)
    return [action.dest for action in parser._actions if action.dest not in OUTPUT_OPTIONS]


def _window(options: dict[str, Any]) -> tuple[dt.date | None, dt.date | None]:
    start, end = options.get("start"), options.get("end")
    if options.get("period"):
        if start or end:
            raise SpecError("bad_window", "give either --period or --from/--to, not both")
        start, end = parse_period(options["period"], AnalyticsSettings.load().fiscal_year_start_month)
    return start, end


def _end_of(day: dt.date | None) -> dt.datetime | None:
    return dt.datetime.combine(day, dt.time(23, 59, 59)) if day else None


def spec_from(options: dict[str, Any], extra: dict[str, Any] | None = None) -> Spec:
    start, end = _window(options)
    return Spec(
        start=start,
        end=end,
        by=tuple(options.get("by") or ()),
        filters=dict(options.get("filter") or []),
        unit=options.get("unit") or "person",
        view=options.get("view") or "cohort",
        horizon_days=options.get("horizon"),
        grain=options.get("grain") or "month",
        as_of=_end_of(options.get("as_of")),
        options=extra or {},
    )


def current_snapshot(refresh: bool = False, say: Callable[[str], Any] | None = None) -> snapshot.Snapshot:
    """The current generation; built first when there is none (and said through ``say``)."""
    if refresh:
        snapshot.refresh()
    found = snapshot.open_current()
    if found is None:
        if say is not None:
            say("No analytics snapshot yet: building it now (kyogyo snapshot refresh) …")
        snapshot.refresh()
        found = snapshot.open_current()
    assert found is not None
    return found


def run(
    name: str, options: dict[str, Any], *, refresh: bool = False, say: Callable[[str], Any] | None = None
) -> tuple[ModuleType, dict[str, Any]]:
    """Report ``name`` over the current snapshot: its module and its result (the JSON shape)."""
    module = metrics.load(name)
    extra = module.options(options) if hasattr(module, "options") else {}
    spec = spec_from(options, extra)
    found = context(options.get("as_of"), refresh=refresh, say=say)
    if name in LIVE_REPORTS:
        return module, module.compute(found, spec).as_dict()
    return module, cached_result(name, module, found, spec)


def cached_result(name: str, module: ModuleType, found: Context, spec: Spec) -> dict[str, Any]:
    """Report ``name``'s result, computed once per snapshot generation for the same spec
    (window, slices, filters, its own options), "now" and analytics settings: a refresh makes
    a new generation, which starts with nothing remembered. Each caller gets its own copy,
    with the snapshot's age as of now."""
    key = ("report", name, _frozen(spec.__dict__), found.as_of, _settings_key(found))
    try:
        hash(key)
    except TypeError:  # an option of a kind no spec has today: not worth remembering
        return module.compute(found, spec).as_dict()
    # kept pickled: a compact size to bound the memo by, and each caller unpickles its own copy
    kept = found.snapshot.memo(key, lambda: pickle.dumps(module.compute(found, spec).as_dict(), PROTOCOL))
    data = pickle.loads(kept)  # our own bytes, never from outside
    if "snapshot" in data:
        data["snapshot"] = found.freshness()
    return data


def _frozen(value: Any) -> Any:
    """A hashable, order-independent form of a spec's values (dicts and lists inside)."""
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), _frozen(v)) for k, v in value.items()))
    if isinstance(value, list | tuple | set | frozenset):
        items = [_frozen(v) for v in value]
        return tuple(sorted(items, key=repr) if isinstance(value, set | frozenset) else items)
    return value


def _settings_key(found: Context) -> tuple[Any, ...]:
    """Every analytics setting the metrics may read (edges, signals, fiscal year, …)."""
    chosen = found.settings
    return tuple((f.attname, repr(getattr(chosen, f.attname))) for f in chosen._meta.concrete_fields)


def context(
    as_of: dt.date | None, *, refresh: bool = False, say: Callable[[str], Any] | None = None
) -> Context:
    """A metric context over the current snapshot, "now" being the end of ``as_of`` if given."""
    return Context.create(current_snapshot(refresh, say), as_of=_end_of(as_of))


def make_plan(options: dict[str, Any], *, refresh: bool = False, say: Callable[[str], Any] | None = None):
    """The backwards plan for the options (not saved): its inputs and result."""
    inputs = plan_inputs(options)
    return inputs, plan.make_plan(context(options.get("as_of"), refresh=refresh, say=say), inputs)


def plan_inputs(options: dict[str, Any]) -> plan.PlanInputs:
    """The plan's inputs from the command's options (refusals name the option to fix)."""
    if not options.get("target"):
        raise SpecError("no_target", "give the revenue target with --target AMOUNT")
    start, end = _window(options)
    if not start or not end:
        raise SpecError("no_period", "give the plan's period with --period P or --from D --to D")
    rates = dict(plan.parse_rate(text) for text in options.get("rate") or [])
    capacity = dict(plan.parse_capacity(text) for text in options.get("capacity") or [])
    deal_size = options.get("deal_size")
    return plan.PlanInputs(
        target=plan.parse_amount(str(options["target"]), "target"),
        start=start,
        end=end,
        deal_size=Fraction(plan.parse_amount(str(deal_size), "deal size")) if deal_size else None,
        rates=rates,
        capacity=capacity,
        lookback_months=options.get("lookback_months", plan.DEFAULT_LOOKBACK_MONTHS),
        currency=options.get("currency") or plan.DEFAULT_CURRENCY,
    )
