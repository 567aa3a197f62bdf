"""kyogyo report NAME: one metric over the analytics snapshot, as JSON, a table or CSV."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kyogyo.analytics import metrics, snapshot
from kyogyo.analytics.metrics.base import Context
from kyogyo.analytics.models import AnalyticsSettings
from kyogyo.analytics.output import render, save
from kyogyo.analytics.spec import Spec, SpecError, parse_period


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def _filter(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"{text!r}: write a filter as DIMENSION=VALUE, e.g. segment=smb")
    return name.strip(), value


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from", dest="start", type=_date, help="first day of the window (YYYY-MM-DD)")
    parser.add_argument("--to", dest="end", type=_date, help="last day of the window, inclusive")
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
        "--filter", action="append", default=[], type=_filter, metavar="DIM=VALUE", help="keep only these"
    )
    parser.add_argument("--horizon", type=int, metavar="DAYS", help="cohort view: count advances within DAYS")
    parser.add_argument(
        "--grain", choices=["week", "month", "quarter"], default="month", help="time-series step"
    )
    parser.add_argument(
        "--as-of", type=_date, help="evaluate as if today were this date (default: snapshot time)"
    )
    parser.add_argument("--refresh", action="store_true", help="refresh the snapshot first")
    parser.add_argument(
        "--format", choices=["table", "json", "csv", "xlsx"], default="table", help="default table"
    )
    parser.add_argument(
        "--output", metavar="FILE", help="write to FILE instead of stdout (required for xlsx)"
    )


def spec_from(options: dict[str, Any], extra: dict[str, Any] | None = None) -> Spec:
    start, end = options.get("start"), options.get("end")
    if options.get("period"):
        if start or end:
            raise SpecError("bad_window", "give either --period or --from/--to, not both")
        start, end = parse_period(options["period"], AnalyticsSettings.load().fiscal_year_start_month)
    as_of = options.get("as_of")
    return Spec(
        start=start,
        end=end,
        by=tuple(options.get("by") or ()),
        filters=dict(options.get("filter") or []),
        unit=options.get("unit", "person"),
        view=options.get("view", "cohort"),
        horizon_days=options.get("horizon"),
        grain=options.get("grain", "month"),
        as_of=dt.datetime.combine(as_of, dt.time(23, 59, 59)) if as_of else None,
        options=extra or {},
    )


def current_snapshot(refresh: bool, stderr) -> snapshot.Snapshot:
    """The current generation; built first when there is none (said on stderr)."""
    if refresh:
        snapshot.refresh()
    found = snapshot.open_current()
    if found is None:
        stderr.write("No analytics snapshot yet: building it now (kyogyo snapshot refresh) …")
        snapshot.refresh()
        found = snapshot.open_current()
    assert found is not None
    return found


class Command(BaseCommand):
    help = (
        "Print one metric of The Model from the analytics snapshot: waterfall and the other "
        "reports listed below. Every report takes a window (--from/--to or --period), slices "
        "(--by) and filters (--filter DIM=VALUE) where they make sense, and prints a table, "
        "CSV or the JSON shape documented in docs/analytics.md. The snapshot is built on "
        "first use; --refresh brings it up to date first."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="metric", required=True, metavar="NAME")
        for name, module in metrics.registry().items():
            metric_parser = sub.add_parser(name, help=module.HELP, description=module.HELP)
            add_common_arguments(metric_parser)
            if hasattr(module, "add_arguments"):
                module.add_arguments(metric_parser)

    def handle(self, *args, **options) -> None:
        module = metrics.load(options["metric"])
        output = options.get("output")
        if options["format"] == "xlsx" and not output:
            raise CommandError("output_required: --format xlsx needs --output FILE")
        if output and not Path(output).resolve().parent.is_dir():
            raise CommandError(f"bad_output: {Path(output).resolve().parent} is not a directory")
        try:
            extra = module.options(options) if hasattr(module, "options") else {}
            spec = spec_from(options, extra)
            found = current_snapshot(options["refresh"], self.stderr)
            context = Context.create(found, as_of=spec.as_of)
            data = module.compute(context, spec).as_dict()
        except (SpecError, snapshot.SnapshotError) as exc:
            raise CommandError(f"{exc.code}: {exc}") from exc
        headers, rows = module.rows(data)
        if output:
            save(options["format"], Path(output), data, headers, rows, title=options["metric"])
            self.stderr.write(f"Wrote {options['metric']} to {output}.")
        else:
            self.stdout.write(render(options["format"], data, headers, rows))


if __name__ == "__main__":  # pragma: no cover
    sys.exit("run as `kyogyo report`")
