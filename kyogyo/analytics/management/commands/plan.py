"""kyogyo plan: plan backwards from a revenue target (逆算), save the plan, compare a saved
plan with what happened (see docs/analytics/planning.md)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kyogyo.analytics import reports, snapshot
from kyogyo.analytics.metrics import plan
from kyogyo.analytics.models import SavedPlan
from kyogyo.analytics.output import render
from kyogyo.analytics.reports import date_argument
from kyogyo.analytics.spec import Spec, SpecError


class Command(BaseCommand):
    help = (
        "Plan backwards from a revenue target: the wins, opportunities, SQLs, SALs, MQLs and leads "
        "needed, per month with each stage's lead time, and the people per team (--capacity). Rates "
        "and deal size are measured over the lookback window unless given. --save NAME keeps the "
        "plan; --actual ID compares a saved plan with the actual entries; --list shows saved plans."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--target", help="revenue target in minor units (JPY: yen), e.g. 120000000")
        parser.add_argument("--period", help="YYYY-MM, YYYY, FYYYYY or FYYYYY-Qn (instead of --from/--to)")
        parser.add_argument(
            "--from", dest="start", type=date_argument, help="first day of the plan (YYYY-MM-DD)"
        )
        parser.add_argument("--to", dest="end", type=date_argument, help="last day of the plan, inclusive")
        parser.add_argument("--deal-size", help="average won deal size (default: measured over the lookback)")
        parser.add_argument(
            "--rate",
            action="append",
            default=[],
            metavar="FROM:TO=RATE",
            help="a given conversion for one step, e.g. mql:sal=0.8 or mql:sal=80%% (repeatable)",
        )
        parser.add_argument(
            "--capacity",
            action="append",
            default=[],
            metavar="TEAM=N",
            help="items one person handles a month: marketing (leads), inside_sales (MQLs), "
            "field_sales (opportunities), customer_success (wins); e.g. inside_sales=120 (repeatable)",
        )
        parser.add_argument(
            "--lookback-months",
            type=int,
            default=plan.DEFAULT_LOOKBACK_MONTHS,
            help="months before the plan starts that rates, lags and deal size are measured over (default 12)",
        )
        parser.add_argument(
            "--currency", default=plan.DEFAULT_CURRENCY, help="currency of the target (default JPY)"
        )
        parser.add_argument("--save", metavar="NAME", help="store the plan under this name")
        parser.add_argument(
            "--actual", type=int, metavar="PLAN_ID", help="compare a saved plan with the actuals"
        )
        parser.add_argument("--list", action="store_true", help="list the saved plans")
        parser.add_argument("--as-of", type=date_argument, help="evaluate as if today were this date")
        parser.add_argument("--refresh", action="store_true", help="refresh the snapshot first")
        parser.add_argument(
            "--format", choices=["table", "json", "csv"], default="table", help="default table"
        )

    def handle(self, *args, **options) -> None:
        try:
            if options["list"]:
                data, headers, rows = self._list()
            elif options.get("actual") is not None:
                context = reports.context(
                    options.get("as_of"), refresh=options["refresh"], say=self.stderr.write
                )
                data = plan.compute(context, Spec(options={"plan": options["actual"]})).as_dict()
                headers, rows = plan.rows(data)
            else:
                inputs, result = reports.make_plan(options, refresh=options["refresh"], say=self.stderr.write)
                if options.get("save"):
                    plan.save_plan(options["save"], inputs, result)
                data = result.as_dict()
                headers, rows = plan.plan_rows(data)
        except (SpecError, snapshot.SnapshotError) as exc:
            raise CommandError(f"{exc.code}: {exc}") from exc
        self.stdout.write(render(options["format"], data, headers, rows))

    def _list(self) -> tuple[Any, list[str], list[Sequence[Any]]]:
        plans = [
            {
                "id": p.pk,
                "name": p.name,
                "from": p.starts_on.isoformat(),
                "to": p.ends_on.isoformat(),
                "target": p.target,
                "created_at": p.created_at.isoformat(),
            }
            for p in SavedPlan.objects.order_by("-created_at", "-pk")
        ]
        headers = ["id", "name", "from", "to", "target", "created_at"]
        return {"plans": plans}, headers, [[p[h] for h in headers] for p in plans]


if __name__ == "__main__":  # pragma: no cover
    sys.exit("run as `kyogyo plan`")
